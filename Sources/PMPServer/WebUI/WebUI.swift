/// `GET /`: the web UI, one self-contained page (markup, style and script inline; no CDN, nothing fetched but
/// the endpoints it is pointed at). It shows the process tables of several endpoints merged into one, lets a
/// person cancel a process with a message and read its history, and shows each endpoint's threads by wait
/// reason and a flame graph of a fresh profile.
///
/// The endpoints come from the URL's fragment, the form `pmp link` prints:
///
///     http://FIRST-ENDPOINT/#/procs?host=h1:9084,h2:9084
///
/// (without `host`, the endpoint that served the page). The page polls `GET /procs`, `GET /procs/{id}/history`
/// and `GET /stacks?format=json` of each endpoint, fetches `GET /profile?format=svg`, and cancels with
/// `DELETE /procs/{id}`; other endpoints answer it thanks to their CORS headers. A token is for one endpoint:
/// typed into the page for the endpoint it was chosen for, or passed once as `/?token=…` for the endpoint that
/// served the page; it is kept in the tab's session storage under that endpoint's name and sent as
/// `Authorization: Bearer` to that endpoint only, never to the others of the link.
enum WebUI {
    static let endpoint: Endpoint = { _, reply in
        reply(ServerResponse(status: .ok, contentType: "text/html; charset=utf-8", body: page)
            .adding(header: "Content-Security-Policy", contentSecurityPolicy)
            .adding(header: "Referrer-Policy", "no-referrer"))
    }

    /// The whole document.
    static let html = WebUIMarkup.document(style: WebUIStyle.css, script: WebUIScript.source)

    static let page = Array(html.utf8)

    /// The page's own script and style sheet only, named by their hashes (an injected `<script>`, an `on…`
    /// attribute or a `javascript:` URL would not run); connections to any HTTP(S) endpoint, because the fleet
    /// is the user's to name, in the link or typed into the page, and a policy cannot know it in advance;
    /// nothing else, so that a mistake in the page cannot pull in anything from elsewhere.
    static let contentSecurityPolicy = "default-src 'none'; "
        + "script-src 'sha256-\(ContentHash.sha256Base64("\n" + WebUIScript.source))'; "
        + "style-src 'sha256-\(ContentHash.sha256Base64("\n" + WebUIStyle.css))'; "
        + "img-src data:; connect-src http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}
