import PMP
import PMPProfiles

/// `GET /stacks`: every thread's stack, now.
///
/// - `format=json` (default; shapes in `SnapshotJSON`), `text` (the dump `kill -USR1` writes) or `folded`
///   (`root;…;leaf COUNT`, one line per distinct stack);
/// - `group=1`: identical stacks fold into one with a count (JSON groups; for text, the poor man's profiler
///   listing "count, then stack", most frequent first; folded output is always grouped);
/// - `threads=registered`: only threads registered with `PMP.registerCurrentThread(name:)`;
/// - `state=1`, `thread=1`: folded and grouped text put the wait reason / thread-name pattern in the stack;
/// - `names=full`: frames show complete demangled names, not the short ones Swift's crash backtracer prints
///   (JSON always has both: `function` and `fullFunction`).
///
/// The capture and symbols are done on PMP's capture thread; the event loop waits for nothing.
enum StacksEndpoint {
    enum Format { case json, text, folded }

    static let endpoint: Endpoint = { request, reply throws(BadRequest) in
        let format = try request.query.choice("format", default: Format.json,
                                              ["json": .json, "text": .text, "folded": .folded])
        let grouped = try request.query.flag("group")
        let threads = try Endpoints.threadSelection(request.query)
        let options = try Endpoints.renderOptions(request.query, title: "swift-pmp stacks")
        PMP.snapshot(CaptureOptions(threads: threads)) { result in
            switch result {
            case .failure(let error):
                reply(Endpoints.failure("the capture failed", error))
            case .success(let snapshot):
                reply(render(snapshot, format: format, grouped: grouped, options: options))
            }
        }
    }

    static func render(_ snapshot: Snapshot, format: Format, grouped: Bool, options: RenderOptions) -> ServerResponse {
        let snapshot = options.fullNames ? snapshot.showingFullNames : snapshot
        switch format {
        case .json:
            return .json(grouped ? SnapshotJSON.renderGrouped(snapshot) : SnapshotJSON.render(snapshot))
        case .text where !grouped:
            return .text(PMP.dumpText(snapshot))
        case .text:
            return .bytes(profile(of: snapshot).rendered(as: .text, options: options), contentType: ProfileFormat.text.contentType)
        case .folded:
            return .bytes(profile(of: snapshot).rendered(as: .folded, options: options),
                          contentType: ProfileFormat.folded.contentType)
        }
    }

    /// The snapshot as a profile of one capture: each thread one sample.
    static func profile(of snapshot: Snapshot) -> Profile {
        var builder = ProfileBuilder()
        builder.add(snapshot)
        return builder.build(source: "pid \(snapshot.pid)")
    }
}
