import Foundation

/// The sanitizer the suite was built with by `tools/test --sanitize`, if any. Under one, resident memory says
/// nothing about the code (shadow memory, quarantined frees), so tests that bound memory check everything else
/// and leave the bound out, saying so.
package enum Sanitizer {
    package static let active: String? = ProcessInfo.processInfo.environment["PMP_SANITIZER"]

    /// True when memory bounds hold; otherwise prints why `what` is not checked.
    package static func boundsMemory(_ what: String) -> Bool {
        guard let active else { return true }
        print("not checked under the \(active) sanitizer (its shadow memory and quarantine are resident too): \(what)")
        return false
    }
}
