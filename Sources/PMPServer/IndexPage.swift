/// `GET /debug/pprof`: a page that lists the endpoints, with links.
enum IndexPage {
    static let endpoint: Endpoint = { _, reply in
        reply(ServerResponse(status: .ok, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
            .adding(header: "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                    + "form-action 'none'; frame-ancestors 'none'"))
    }

    static let html = """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>swift-pmp</title>
        <style>body{font:14px/1.5 system-ui,sans-serif;margin:2em;max-width:60em}code{background:#f3f3f3;padding:0 .2em}
        td{padding:.15em 1em .15em 0;vertical-align:top}</style></head>
        <body>
        <h1>swift-pmp</h1>
        <p>What every thread of this process is doing, and which requests are in flight.</p>
        <table>
        <tr><td><a href="/stacks?format=text">GET /stacks</a></td><td>every thread's stack now:
          <code>?format=json|text|folded</code>, <code>?group=1</code> folds identical stacks</td></tr>
        <tr><td><a href="/profile?seconds=5&amp;format=svg">GET /profile</a></td><td>a sampled profile:
          <code>?seconds=5&amp;hz=100&amp;format=text|folded|json|pprof|speedscope|svg</code></td></tr>
        <tr><td><a href="/debug/pprof/goroutine?debug=2">GET /debug/pprof/goroutine</a></td><td>Go's shapes:
          <code>?debug=1</code> counted, <code>?debug=2</code> tracebacks, default pprof</td></tr>
        <tr><td>GET /debug/pprof/profile</td><td>gzipped pprof: <code>go tool pprof http://HOST:PORT/debug/pprof/profile?seconds=10</code></td></tr>
        <tr><td><a href="/procs">GET /procs</a></td><td>requests and jobs in flight (<code>?all=1</code>: recently finished too)</td></tr>
        <tr><td>GET /procs/{id}/history</td><td>one entry's statuses</td></tr>
        <tr><td>DELETE /procs/{id}</td><td>cancel it; body <code>{"message": "why"}</code></td></tr>
        <tr><td><a href="/health">GET /health</a></td><td>liveness: pid and uptime</td></tr>
        </table>
        </body>
        </html>

        """
}
