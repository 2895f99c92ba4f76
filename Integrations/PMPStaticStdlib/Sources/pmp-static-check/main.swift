#if canImport(Glibc)
import Glibc
#endif
import PMP
import Synchronization

// Tasks in three states (detached: top-level code is on the main actor, whose thread waits below), each in a
// function of its own name; then the SIGUSR1 dump and PMP.snapshot() must
// list them with those states and functions, from a process whose Swift runtime is linked in statically.

let parked = Mutex<[CheckedContinuation<Void, Never>]>([])
let dumps = Mutex<[String]>([])
var failures: [String] = []

@MainActor func check(_ condition: Bool, _ what: String) {
    print(condition ? "ok: \(what)" : "FAILED: \(what)")
    if !condition { failures.append(what) }
}

@inline(never) func staticParkedOnContinuation() async {
    await withCheckedContinuation { continuation in parked.withLock { $0.append(continuation) } }
}

@inline(never) func staticSleeping() async {
    try? await Task.sleep(for: .seconds(3600))
}

@inline(never) func staticAwaitingAsyncLet() async {
    async let child: Void = staticParkedOnContinuation()
    await child
}

/// The shared libraries of the Swift runtime this process maps: none in a static build.
func mappedSwiftRuntimeLibraries() -> [String] {
    guard let file = fopen("/proc/self/maps", "r") else { return ["(cannot read /proc/self/maps)"] }
    defer { fclose(file) }
    var found = Set<String>()
    var line = [CChar](repeating: 0, count: 4096)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for library in ["libswiftCore.so", "libswift_Concurrency.so"] where text.contains(library) {
            found.insert(library)
        }
    }
    return found.sorted()
}

check(mappedSwiftRuntimeLibraries().isEmpty,
      "the Swift runtime is linked in statically (mapped: \(mappedSwiftRuntimeLibraries()))")

Task.detached(name: "static-parked") { await staticParkedOnContinuation() }
Task.detached(name: "static-sleeper") { await staticSleeping() }
Task.detached(name: "static-async-let") { await staticAwaitingAsyncLet() }
for _ in 0..<5_000 where parked.withLock({ $0.count }) < 2 { usleep(1000) }
check(parked.withLock { $0.count } == 2, "both continuation waits are in place")

do {
    try PMP.installTrigger(TriggerConfiguration(destination: .custom { text in dumps.withLock { $0.append(text) } }))
    let snapshot = try PMP.snapshot()
    let summary = snapshot.taskSummary
    print("task summary: method=\(summary?.method ?? "nil") layout=\(summary?.layout ?? "nil") "
          + "note=\(summary?.note ?? "nil") tasks=\(snapshot.tasks.count)")
    check(summary?.method == "scan", "tasks were searched for")
    check(summary?.layout != nil, "the runtime's task layout was verified")
    func task(named name: String) -> TaskSnapshot? { snapshot.tasks.first { $0.name == name } }
    let parkedTask = task(named: "static-parked")
    check(parkedTask?.state == .continuation, "static-parked is suspended on a continuation")
    check(parkedTask?.frames.prefix(3).contains { $0.function.contains("staticParkedOnContinuation") } == true,
          "static-parked waits in staticParkedOnContinuation (\(parkedTask?.frames.map(\.function) ?? []))")
    // Names as Swift's backtracer prints them (its demangler is runtime SPI, linked in here too), not the
    // full `(2) await resume partial function for pmp_static_check.staticSleeping() async -> ()`.
    let names = snapshot.tasks.flatMap { $0.frames.map(\.function) }
    check(names.contains("staticSleeping()") && !names.contains { $0.contains("await resume partial function") },
          "frames are named as Swift's backtracer names them (\(names.filter { $0.contains("static") }))")
    let sleeper = task(named: "static-sleeper")
    check(sleeper?.state == .sleeping, "static-sleeper is sleeping (\(String(describing: sleeper?.state)))")
    check(sleeper?.frames.contains { $0.function.contains("staticSleeping") } == true,
          "static-sleeper's backtrace passes staticSleeping")
    let asyncLetParent = task(named: "static-async-let")
    if case .awaitingTask(let child)? = asyncLetParent?.state {
        check(snapshot.tasks.contains { $0.id == child && $0.parent == asyncLetParent?.id },
              "static-async-let awaits its child")
    } else {
        check(false, "static-async-let is suspended on a task (\(String(describing: asyncLetParent?.state)))")
    }

    raise(SIGUSR1)
    for _ in 0..<10_000 where dumps.withLock({ $0.isEmpty }) { usleep(1000) }
    let dump = dumps.withLock { $0.first } ?? ""
    check(dump.contains("\"static-parked\"") && dump.contains("suspended on continuation"),
          "the SIGUSR1 dump lists static-parked suspended on a continuation")
    check(dump.contains("staticSleeping"), "the SIGUSR1 dump gives static-sleeper's backtrace")
} catch {
    check(false, "capture: \(error)")
}

if failures.isEmpty {
    print("pmp-static-check: a -static-stdlib build lists its tasks")
    exit(0)
}
print("pmp-static-check: \(failures.count) check(s) failed")
exit(1)
