@testable import PMP
import PMPTestSupport
import Testing

/// `PMP.configure`: the engine's set-up is chosen once; the same choice again is harmless, another one refused.
@Suite("configure", .serialized) struct ConfigureTests {
    @Test("configuring the installed engine again with its own configuration succeeds; another is refused")
    func configureOnce() throws {
        let installed = try CaptureThread.shared.sync { context in try context.captureEngine().configuration }
        try PMP.configure(installed)
        var other = installed
        other.maxDepth = installed.maxDepth == 64 ? 65 : 64
        #expect {
            try PMP.configure(other)
        } throws: { error in
            guard case CaptureError.alreadyInstalled(let signal)? = error as? CaptureError else { return false }
            return signal == installed.captureSignal
        }
        // The refusal changed nothing: captures still run with the installed depth limit.
        let still = try CaptureThread.shared.sync { context in try context.captureEngine().configuration }
        #expect(still == installed)
    }
}
