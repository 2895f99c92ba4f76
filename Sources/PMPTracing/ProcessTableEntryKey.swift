import Instrumentation

/// The process-table entry of the span a context belongs to, so that spans started from it name it as their parent.
/// Only inside this process: no instrument injects it into carriers.
enum ProcessTableEntryKey: ServiceContextKey {
    typealias Value = String
    static var nameOverride: String? { "pmp-entry" }
}

extension ServiceContext {
    /// The id of the process-table entry of the span this context belongs to (`/procs/{id}`), when a
    /// `ProcessTableTracer` started it.
    public var processTableEntryID: String? {
        get { self[ProcessTableEntryKey.self] }
        set { self[ProcessTableEntryKey.self] = newValue }
    }
}
