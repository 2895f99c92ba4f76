/// The web UI's script, in parts that share one scope: the state and its URL form, talking to endpoints, the
/// endpoint bar and polling, and one part per view. Plain modern JavaScript, no build step, no libraries.
enum WebUIScript {
    static let source = "(function () {\n\"use strict\";\n"
        + WebUIScriptState.source
        + WebUIScriptRequests.source
        + WebUIScriptHosts.source
        + WebUIScriptProcesses.source
        + WebUIScriptHistory.source
        + WebUIScriptThreads.source
        + WebUIScriptFlameGraph.source
        + WebUIScriptStart.source
        + "})();\n"
}
