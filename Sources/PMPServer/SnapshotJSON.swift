import PMP
import PMPProcessTable
import PMPProfiles
import PMPSupport

/// The JSON of `GET /stacks`. Every key is always present (null when unknown), in this order:
///
///     {"pid":4242, "time":"2026-11-26T20:51:01.123Z", "elapsed":0.00125, "maxDepth":128,
///      "threadCount":3, "captured":2,
///      "threads":[
///        {"tid":4243, "name":"cond-0", "state":"S", "waitReason":"condition wait", "blockedFor":12.345,
///         "cpuTime":0.01, "failure":null, "heldBy":null, "task":null, "truncated":false,
///         "frames":[{"address":"0x00007f5a1c2d3e4f", "function":"pthread_cond_wait",
///                    "fullFunction":"pthread_cond_wait", "file":"./nptl/x.c", "line":57, "image":"libc.so.6",
///                    "inlined":false}, …]},
///        {"tid":4251, "name":"worker-3", "state":"S", "waitReason":"mutex lock", "blockedFor":3.2,
///         "cpuTime":0.001, "failure":null, "heldBy":{"tid":4252, "name":"lock-holder"}, "task":null, "truncated":false,
///         "frames":[…]},
///        {"tid":4250, "name":"blocker", "state":"S", "waitReason":"no answer", "blockedFor":null,
///         "cpuTime":0, "failure":"signal blocked", "heldBy":null, "task":null, "truncated":false, "frames":[]}]}
///
/// `time` is the capture's wall-clock time (RFC 3339, UTC); `elapsed` the capture's duration and `blockedFor`
/// (time without CPU progress, null when unknown or running) and `cpuTime` are seconds; `state` is the kernel's
/// one-letter state; `failure` says why a thread has no stack ("signal blocked", "exited", "timed out", …);
/// `heldBy` names the thread holding the lock a thread waits for (pthread mutexes, Swift's `Mutex`), null when
/// unknown (its `name` null when that thread was not found); `task` is the id of the Swift task the thread was
/// running (in `tasks`, after the threads), null when none or unknown.
/// Frames go from the leaf (first) to the root; `address` is a hex string (JavaScript numbers cannot hold every
/// 64-bit address); `function` is the name as Swift's crash backtracer prints it (`closure #1 in static
/// Workers.startThread(name:_:)`), `fullFunction` the complete demangled name (module, parameter and return
/// types), the same for C functions; `file` and `line` are null without debug information; `inlined` marks a function inlined
/// into the frame that follows it (same address). `truncated` says the stack was cut at `maxDepth` frames.
///
/// With `?group=1`, threads with the same frames and wait reason fold into one group, largest first (like Go's
/// `debug=1`); each group lists its threads without their frames:
///
///     {"pid":…, "time":…, "elapsed":…, "maxDepth":…, "threadCount":14, "captured":13,
///      "groups":[
///        {"count":5, "waitReason":"condition wait", "truncated":false,
///         "threads":[{"tid":4243, "name":"cond-0", "state":"S", "blockedFor":12.3, "cpuTime":0.01,
///                     "failure":null, "heldBy":null, "task":null}, …],
///         "frames":[…]}]}
package enum SnapshotJSON {
    package static func render(_ snapshot: Snapshot) -> [UInt8] {
        // Threads mostly share a few stacks: each distinct stack is written once.
        var stacks: [[Frame]: [UInt8]] = [:]
        var json = JSONWriter(reservingCapacity: 512 + snapshot.threads.count * 2048)
        json.beginObject()
        header(snapshot, into: &json)
        json.key("threads")
        json.beginArray()
        for thread in snapshot.threads {
            json.beginObject()
            threadFields(thread, into: &json, withWaitReason: true)
            json.key("truncated")
            json.bool(thread.truncated)
            json.key("frames")
            if let written = stacks[thread.frames] {
                json.rawValue(written)
            } else {
                var stack = JSONWriter(reservingCapacity: thread.frames.count * 160)
                frames(thread.frames, into: &stack)
                stacks[thread.frames] = stack.bytes
                json.rawValue(stack.bytes)
            }
            json.endObject()
        }
        json.endArray()
        TaskJSON.render(snapshot, grouped: false, into: &json)
        json.endObject()
        json.newline()
        return json.bytes
    }

    package static func renderGrouped(_ snapshot: Snapshot) -> [UInt8] {
        struct Key: Hashable {
            var frames: [Frame]
            var waitReason: WaitReason
            var truncated: Bool
        }
        var order: [Key] = []
        var members: [Key: [ThreadSnapshot]] = [:]
        for thread in snapshot.threads {
            let key = Key(frames: thread.frames, waitReason: thread.waitReason, truncated: thread.truncated)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(thread)
        }
        let groups = order.enumerated().sorted { a, b in
            let (countA, countB) = (members[a.element]!.count, members[b.element]!.count)
            return countA != countB ? countA > countB : a.offset < b.offset
        }.map(\.element)

        var json = JSONWriter(reservingCapacity: 512 + groups.count * 2048)
        json.beginObject()
        header(snapshot, into: &json)
        json.key("groups")
        json.beginArray()
        for key in groups {
            let threads = members[key]!
            json.beginObject()
            json.key("count")
            json.integer(threads.count)
            json.key("waitReason")
            json.string(key.waitReason.rawValue)
            json.key("truncated")
            json.bool(key.truncated)
            json.key("threads")
            json.beginArray()
            for thread in threads {
                json.beginObject()
                threadFields(thread, into: &json, withWaitReason: false)
                json.endObject()
            }
            json.endArray()
            json.key("frames")
            frames(key.frames, into: &json)
            json.endObject()
        }
        json.endArray()
        TaskJSON.render(snapshot, grouped: true, into: &json)
        json.endObject()
        json.newline()
        return json.bytes
    }

    private static func header(_ snapshot: Snapshot, into json: inout JSONWriter) {
        json.key("pid")
        json.integer(snapshot.pid)
        json.key("time")
        json.string(WallTime(nanosecondsSinceEpoch: Int64((snapshot.time * 1000).rounded()) * 1_000_000).rfc3339)
        json.key("elapsed")
        json.number(snapshot.elapsed)
        json.key("maxDepth")
        json.integer(snapshot.maxDepth)
        json.key("threadCount")
        json.integer(snapshot.threads.count)
        json.key("captured")
        json.integer(snapshot.capturedCount)
    }

    private static func threadFields(_ thread: ThreadSnapshot, into json: inout JSONWriter, withWaitReason: Bool) {
        json.key("tid")
        json.integer(thread.tid)
        json.key("name")
        json.string(thread.name)
        json.key("state")
        json.string(thread.kernelState)
        if withWaitReason {
            json.key("waitReason")
            json.string(thread.waitReason.rawValue)
        }
        json.key("blockedFor")
        json.number(thread.blockedFor)
        json.key("cpuTime")
        json.number(thread.cpuTime)
        json.key("failure")
        json.string(thread.failure?.rawValue)
        json.key("heldBy")
        if let holder = thread.heldBy {
            json.beginObject()
            json.key("tid")
            json.integer(holder.tid)
            json.key("name")
            json.string(holder.name)
            json.endObject()
        } else {
            json.null()
        }
        json.key("task")
        if let task = thread.task { json.integer(task) } else { json.null() }
    }

    static func frames(_ frames: [Frame], into json: inout JSONWriter) {
        json.beginArray()
        for frame in frames {
            json.beginObject()
            json.key("address")
            json.string(hexAddress(frame.address))
            json.key("function")
            json.string(frame.function)
            json.key("fullFunction")
            json.string(frame.fullFunction)
            json.key("file")
            json.string(frame.file)
            json.key("line")
            if let line = frame.line { json.integer(line) } else { json.null() }
            json.key("image")
            json.string(frame.image)
            json.key("inlined")
            json.bool(frame.inlined)
            json.endObject()
        }
        json.endArray()
    }

    /// `0x` and 16 hex digits, as the text dump writes addresses.
    static func hexAddress(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
