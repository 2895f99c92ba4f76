import NIOHTTP1
import PMP
import PMPProcessTable
import PMPProfiles

/// The routes of the server.
enum Endpoints {
    static func router(table: ProcessTable, limits: PMPServerLimits, profiles: ProfileSessions) -> Router {
        var router = Router()
        router.add(.GET, "/", WebUI.endpoint)
        router.add(.GET, "/debug/pprof", IndexPage.endpoint)
        router.add(.GET, "/health", HealthEndpoint.endpoint(startedAt: ContinuousClock.now))
        router.add(.GET, "/stacks", isCapture: true, StacksEndpoint.endpoint)
        router.add(.GET, "/profile", ProfileEndpoint.endpoint(limits: limits, profiles: profiles, style: .general))
        router.add(.GET, "/debug/pprof/profile", ProfileEndpoint.endpoint(limits: limits, profiles: profiles, style: .pprof))
        // fgprof's path, where Grafana Alloy's `profile.fgprof` scrapes a wall-clock profile: the same pprof.
        router.add(.GET, "/debug/fgprof", ProfileEndpoint.endpoint(limits: limits, profiles: profiles, style: .pprof))
        router.add(.GET, "/debug/pprof/goroutine", isCapture: true, GoroutineEndpoint.endpoint)
        router.add(.GET, "/procs", captureFlag: "tasks", ProcessTableEndpoints.list(table))
        router.add(.GET, "/procs/{}/history", captureFlag: "tasks", ProcessTableEndpoints.history(table))
        router.add(.DELETE, "/procs/{}", ProcessTableEndpoints.cancel(table))
        return router
    }

    /// The threads a request asks to capture: `threads=all` (default) or `threads=registered`.
    static func threadSelection(_ query: QueryParameters) throws(BadRequest) -> ThreadSelection {
        try query.choice("threads", default: .all, ["all": .all, "registered": .registered])
    }

    /// How stacks are written in folded, text, SVG, speedscope and pprof output: `state=1` adds the wait reason
    /// as the root frame, `thread=1` the thread-name pattern, `rootfirst=1` prints text stacks from the root.
    static func renderOptions(_ query: QueryParameters, title: String) throws(BadRequest) -> RenderOptions {
        RenderOptions(rootFirst: try query.flag("rootfirst"), byState: try query.flag("state"),
                      byThread: try query.flag("thread"), title: title,
                      fullNames: try query.choice("names", default: false, ["short": false, "full": true]))
    }

    /// A failure of the capture machinery, as a 500 with its description.
    static func failure(_ what: String, _ error: any Error) -> ServerResponse {
        .error(.internalServerError, "\(what): \(error)")
    }
}
