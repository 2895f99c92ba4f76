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
/// `DELETE /procs/{id}`; other endpoints answer it thanks to their CORS headers. A token typed into the page (or
/// passed once as `/?token=…`) is kept in the tab's session storage and sent as `Authorization: Bearer`.
enum WebUI {
    static let endpoint: Endpoint = { _, reply in
        reply(ServerResponse(status: .ok, contentType: "text/html; charset=utf-8", body: page)
            .adding(header: "Content-Security-Policy", contentSecurityPolicy)
            .adding(header: "X-Content-Type-Options", "nosniff")
            .adding(header: "Referrer-Policy", "no-referrer"))
    }

    /// The whole document.
    static let html = WebUIMarkup.document(style: WebUIStyle.css, script: WebUIScript.source)

    static let page = Array(html.utf8)

    /// Inline style and script only; connections to any HTTP(S) endpoint (the fleet is the user's to name);
    /// nothing else, so that a mistake in the page cannot pull in anything from elsewhere.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        + "img-src data:; connect-src http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}
