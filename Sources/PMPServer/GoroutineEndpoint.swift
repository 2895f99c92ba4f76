import PMP
import PMPProfiles

/// `GET /debug/pprof/goroutine`: what Go's endpoint of that name serves, with threads for goroutines.
///
/// - `debug=0` (default): gzipped pprof, one sample per thread (`go tool pprof http://HOST/debug/pprof/goroutine`);
/// - `debug=1`: Go's counted text profile ("goroutine profile: total N", "COUNT @ 0x…", "#\t0x…\tfunction\tfile:line");
/// - `debug=2`: Go's full traceback ("goroutine TID [wait reason, N minutes]:", function and `\tfile:line` lines);
/// - `names=full`: complete demangled names instead of the short ones Swift's crash backtracer prints.
enum GoroutineEndpoint {
    static let endpoint: Endpoint = { request, reply throws(BadRequest) in
        let debug = try request.query.choice("debug", default: 0, ["0": 0, "1": 1, "2": 2])
        let threads = try Endpoints.threadSelection(request.query)
        let fullNames = try Endpoints.renderOptions(request.query, title: "").fullNames
        PMP.snapshot(CaptureOptions(threads: threads)) { result in
            switch result {
            case .failure(let error):
                reply(Endpoints.failure("the capture failed", error))
            case .success(let captured):
                let snapshot = fullNames ? captured.showingFullNames : captured
                switch debug {
                case 1: reply(.text(GoProfileRenderer.render(snapshot)))
                case 2: reply(.text(GoTracebackRenderer.render(snapshot)))
                default:
                    let bytes = StacksEndpoint.profile(of: snapshot).rendered(as: .pprof)
                    reply(ServerResponse.bytes(bytes, contentType: ProfileFormat.pprof.contentType)
                        .adding(header: "Content-Disposition", "attachment; filename=\"goroutine.pb.gz\""))
                }
            }
        }
    }
}
