import PMP
import PMPProfiles

/// `GET /profile` and `GET /debug/pprof/profile`: samples every thread (or the registered ones) for a while at
/// a fixed rate and answers with the folded profile, where threads spent their time, blocked or running.
///
/// - `seconds` (default 5 for `/profile`, 30 for `/debug/pprof/profile` as in Go; at most
///   `PMPServerLimits.maxProfileSeconds`, 60), `hz` (default 100, at most `maxProfileRate`, 1000);
/// - `format` (`/profile` only): `text` (default), `folded`, `json`, `pprof`, `speedscope`, `svg`;
///   `/debug/pprof/profile` always answers gzipped pprof, what `go tool pprof` fetches;
/// - `threads=registered`, `state=1`, `thread=1`, `rootfirst=1`: as for `/stacks`;
/// - `tasks=1`: the Swift tasks are sampled too (at most 10 times a second, see `CollectorOptions.tasks`), their
///   async backtraces with their state as the wait reason (`task suspended on continuation`, …).
///
/// Profiles run concurrently, each with its own collector, up to `maxConcurrentProfiles` (4); beyond that the
/// answer is 429 with `Retry-After`, also when its `hz` would bring the running profiles' rates together above
/// `maxTotalProfileRate` (1000). A profile stops as soon as its client goes away. The collector samples on a thread of its own, and the profile is symbolized
/// and rendered there when it ends: the event loop waits for nothing.
enum ProfileEndpoint {
    enum Style {
        /// `/profile`: any format, 5 s by default.
        case general
        /// `/debug/pprof/profile`: pprof, 30 s by default.
        case pprof
    }

    static func endpoint(limits: PMPServerLimits, profiles: ProfileSessions, style: Style) -> Endpoint {
        return { request, reply throws(BadRequest) in
            let query = request.query
            let defaultSeconds = style == .pprof ? min(30, limits.maxProfileSeconds) : limits.defaultProfileSeconds
            let seconds = try query.number("seconds", default: defaultSeconds,
                                           in: min(0.01, limits.maxProfileSeconds)...limits.maxProfileSeconds,
                                           unit: "seconds")
            let rate = try query.number("hz", default: min(limits.defaultProfileRate, limits.maxProfileRate),
                                        in: min(1, limits.maxProfileRate)...limits.maxProfileRate, unit: "Hz")
            let format: ProfileFormat = style == .pprof
                ? .pprof
                : try query.choice("format", default: .text, ["text": .text, "folded": .folded, "json": .json,
                                                               "pprof": .pprof, "speedscope": .speedscope, "svg": .svg])
            let threads = try Endpoints.threadSelection(query)
            let tasks = try query.flag("tasks")
            let options = try Endpoints.renderOptions(query, title: "swift-pmp profile")

            let id: Int
            switch profiles.reserve(seconds: seconds, rate: rate) {
            case .reserved(let reserved):
                id = reserved
            case .full(let retryAfter):
                reply(ServerResponse.error(.tooManyRequests,
                                           "\(profiles.limit) profiles are being taken already; try again in \(retryAfter) s")
                    .adding(header: "Retry-After", String(retryAfter)))
                return
            case .rateExceeded(let running, let retryAfter):
                let rates = "\(Self.hertz(running)) Hz + \(Self.hertz(rate)) Hz"
                reply(ServerResponse.error(.tooManyRequests,
                                           "profiles would sample at \(rates) together, above the limit of \(Self.hertz(profiles.maxTotalRate)) Hz; "
                                           + "ask for a lower hz or try again in \(retryAfter) s")
                    .adding(header: "Retry-After", String(retryAfter)))
                return
            case .stopped:
                reply(.error(.serviceUnavailable, "the server is stopping"))
                return
            }
            reply.lifetime.allow(.milliseconds(Int64((seconds * 1000).rounded())))
            let collectorOptions = CollectorOptions(rate: rate, duration: .milliseconds(Int64((seconds * 1000).rounded())),
                                                    threads: threads, tasks: tasks)
            PMP.startCollector(collectorOptions) { started in
                switch started {
                case .failure(let error):
                    profiles.release(id)
                    reply(Endpoints.failure("sampling could not start", error))
                case .success(let collector):
                    guard profiles.attach(collector, to: id) else {
                        collector.requestStop()
                        profiles.release(id)
                        return
                    }
                    // A client that went away (or whose time ran out) gets no profile: sampling for it stops.
                    reply.lifetime.whenAbandoned { collector.requestStop() }
                    collector.whenFinished {
                        if reply.lifetime.isAbandoned {
                            profiles.release(id)
                            return
                        }
                        let bytes = collector.profile().rendered(as: format, options: options)
                        profiles.release(id)
                        reply(response(bytes, format: format))
                    }
                }
            }
        }
    }

    static func hertz(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(rate)
    }

    static func response(_ bytes: [UInt8], format: ProfileFormat) -> ServerResponse {
        let response = ServerResponse.bytes(bytes, contentType: format.contentType)
        switch format {
        case .pprof: return response.adding(header: "Content-Disposition", "attachment; filename=\"profile.pb.gz\"")
        case .speedscope: return response.adding(header: "Content-Disposition", "inline; filename=\"profile.speedscope.json\"")
        case .svg:
            // Opened on its own, the flame graph runs its zoom script, but sandboxed: in an origin of its own,
            // never the endpoint's, and with nothing to load.
            return response
                .adding(header: "Content-Security-Policy",
                        "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
        default: return response
        }
    }
}
