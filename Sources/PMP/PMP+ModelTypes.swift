import PMPProcessTable
import PMPProfiles

/// The model and process-table types by the module's name too (`PMP.Snapshot`, `PMP.Frame`), for programs
/// whose own `Frame` or `Profile` hides these: the `PMP` enum shadows the module `PMP`, so the names are
/// reached through it.
extension PMP {
    public typealias Snapshot = PMPProfiles.Snapshot
    public typealias ThreadSnapshot = PMPProfiles.ThreadSnapshot
    public typealias Frame = PMPProfiles.Frame
    public typealias WaitReason = PMPProfiles.WaitReason
    public typealias LockHolder = PMPProfiles.LockHolder
    public typealias CaptureFailure = PMPProfiles.CaptureFailure
    public typealias TaskSnapshot = PMPProfiles.TaskSnapshot
    public typealias TaskState = PMPProfiles.TaskState
    public typealias TaskSummary = PMPProfiles.TaskSummary
    public typealias Profile = PMPProfiles.Profile
    public typealias ProfileFormat = PMPProfiles.ProfileFormat
    public typealias RenderOptions = PMPProfiles.RenderOptions
    public typealias ProcessTable = PMPProcessTable.ProcessTable
    public typealias ProcessHandle = PMPProcessTable.ProcessHandle
    public typealias AttributeValue = PMPProcessTable.AttributeValue
}
