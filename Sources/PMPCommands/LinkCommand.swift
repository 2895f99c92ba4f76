import ArgumentParser
import PMPClient
import PMPSupport

/// `pmp link --endpoints h1:p,h2:p`: one URL of the web UI that shows every endpoint's process table.
struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Print one URL of the web UI that shows the requests in flight across all the given endpoints.",
        discussion: """
            The web UI is served at / by every endpoint; the endpoints it polls travel in the URL's fragment:

              http://h1:9084/#/procs?host=h1:9084,h2:9084

            The page comes from the first endpoint (or from --ui), and from there polls every host in the \
            list. Nothing is fetched to build the link: it is made for chat bots and runbooks, which post it \
            for a person to open. No token goes into the URL (links end up in chats and logs).

            Examples:
              pmp link --endpoints h1:9084,h2:9084,h3:9084
              pmp link --endpoints h1:9084 --endpoints h2:9084 --ui https://pmp.example.com/
                  the page from another server, polling the same endpoints
              pmp link --endpoints "$(paste -sd, fleet.txt)"
                  one endpoint a line in fleet.txt
            """)

    @Option(help: ArgumentHelp("Endpoints, separated by commas (or give the option again): HOST:PORT or http://HOST:PORT[/PREFIX].",
                               valueName: "endpoints"))
    var endpoints: [String] = []

    @Option(help: ArgumentHelp("The web UI's address (default: the first endpoint's).", valueName: "url"))
    var ui: String?

    func validate() throws {
        _ = try parsedEndpoints()
        if let ui {
            let lower = ui.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
                throw ValidationError("--ui takes an http:// or https:// URL, not \"\(ui)\"")
            }
        }
    }

    func run() throws {
        print(try Self.link(endpoints: parsedEndpoints(), ui: ui))
    }

    private func parsedEndpoints() throws -> [Endpoint] {
        let parsed: [Endpoint]
        do {
            parsed = try Endpoint.parseList(endpoints)
        } catch {
            throw ValidationError(error.description)
        }
        guard !parsed.isEmpty else { throw ValidationError("give the endpoints with --endpoints h1:9084,h2:9084") }
        for endpoint in parsed {
            if case .unix = endpoint.address {
                throw ValidationError("\(endpoint) is a unix socket: a browser cannot reach it; give HOST:PORT endpoints")
            }
        }
        return parsed
    }

    /// `BASE/#/procs?host=ITEM,ITEM`: BASE is `ui` (its own fragment dropped) or the first endpoint's URL;
    /// each ITEM is an endpoint as `host:port[/prefix]`, its characters outside `A-Za-z0-9-._~:/[]%`
    /// percent-encoded (the page decodes each item).
    static func link(endpoints: [Endpoint], ui: String?) -> String {
        // The page of an endpoint is at its root (under its prefix): "http://h1:9084/", "http://gw/pmp/".
        var base = ui ?? endpoints.first?.webURL.map { $0 + "/" } ?? ""
        if let fragment = base.firstIndex(of: "#") { base = String(base[..<fragment]) }
        let afterScheme = base.firstRange(of: "://").map { base[$0.upperBound...] } ?? Substring(base)
        if !afterScheme.contains("/") { base += "/" }
        let hosts = endpoints.map { PercentEncoding.encode($0.description, keeping: ":/[]") }.joined(separator: ",")
        return base + "#/procs?host=" + hosts
    }
}
