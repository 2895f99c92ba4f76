// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-pmp",
    products: [
        // The engine: capture, symbols, collector, trigger; re-exports PMPProfiles and PMPProcessTable.
        .library(name: "PMP", targets: ["PMP"]),
        // The profile model and every whole-profile format; no libunwind, no libdw.
        .library(name: "PMPProfiles", targets: ["PMPProfiles"]),
        // pmp-aggregate's engine: streaming readers of dumps, gdb, eu-stack and Go tracebacks, and the aggregator.
        .library(name: "PMPAggregate", targets: ["PMPAggregate"]),
        // The pm process table on its own.
        .library(name: "PMPProcessTable", targets: ["PMPProcessTable"]),
        .library(name: "PMPServer", targets: ["PMPServer"]),
        // The command-line tools' HTTP client, a product for the fuzz targets under Fuzz/.
        .library(name: "PMPClient", targets: ["PMPClient"]),
        .library(name: "PMPPyroscope", targets: ["PMPPyroscope"]),
        .library(name: "PMPServiceLifecycle", targets: ["PMPServiceLifecycle"]),
        .library(name: "PMPTracing", targets: ["PMPTracing"]),
        .executable(name: "pmp-demo", targets: ["pmp-demo"]),
        .executable(name: "pmp-aggregate", targets: ["pmp-aggregate"]),
        .executable(name: "pmp", targets: ["pmp"]),
        .executable(name: "pmp-attach", targets: ["pmp-attach"]),
        .executable(name: "pmp-lifecycle-demo", targets: ["pmp-lifecycle-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // The only C that runs in signal context: the capture handler, its slots, and the trigger.
        // libunwind is opened at run time (RTLD_LOCAL); its headers come from libunwind-dev.
        .target(name: "CPMPCapture"),
        // swift_demangle and __cxa_demangle (libstdc++), for the Demangler.
        .systemLibrary(name: "CPMPDemangle"),
        // elfutils' libdw/libdwfl: ELF symbols, DWARF lines and inline frames.
        .systemLibrary(
            name: "CElfutils",
            pkgConfig: "libdw",
            providers: [.apt(["libdw-dev"])]
        ),
        // zlib: gzip for pprof files.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Primitives shared by every module: no dependencies.
        .target(name: "PMPSupport"),
        // The profile model (Frame, WaitReason, Snapshot, Profile…) and the whole-profile formats, renderer
        // beside parser.
        .target(name: "PMPProfiles", dependencies: ["PMPSupport", "CPMPDemangle", "CZlib"]),
        // The streaming readers and the aggregator, in one module so the reader→sink path stays specialised.
        .target(name: "PMPAggregate", dependencies: ["PMPProfiles", "PMPSupport"]),
        // pm: in-flight requests with attributes and status, and their JSON.
        .target(name: "PMPProcessTable", dependencies: ["PMPSupport"]),
        // The blocking HTTP client of the command-line tools, and the decoding of /procs and /stacks.
        .target(name: "PMPClient", dependencies: ["PMPSupport", "PMPProcessTable", "PMPProfiles"]),
        // The engine: threads, capture, symbols, snapshots, collector, trigger.
        .target(
            name: "PMP",
            dependencies: [
                "PMPProfiles",
                "PMPProcessTable",
                "PMPSupport",
                "CPMPCapture",
                "CElfutils",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Dumps and profiles of another process from outside (ptrace, process_vm_readv), in the same model.
        .target(
            name: "PMPAttach",
            dependencies: ["PMP", "CPMPCapture", "CElfutils"]
        ),
        // The dumper `pmp dump --pid` and `pmp record --pid` run, so that pmp itself links no unwinder.
        .executableTarget(
            name: "pmp-attach",
            dependencies: [
                "PMPAttach",
                "PMP",
                "PMPServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "pmp-demo",
            dependencies: [
                "PMP",
                "PMPServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A ServiceGroup with the server, the trigger and a traced worker: what the lifecycle test stops with SIGTERM.
        .executableTarget(
            name: "pmp-lifecycle-demo",
            dependencies: [
                "PMP",
                "PMPServer",
                "PMPServiceLifecycle",
                "PMPTracing",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // HTTP endpoints on SwiftNIO, on an event loop of their own.
        .target(
            name: "PMPServer",
            dependencies: [
                "PMP",
                "PMPProcessTable",
                "PMPProfiles",
                "PMPSupport",
                "PMPPyroscope",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // The web UI's files, compiled into the binary (no bundle to ship beside it).
            resources: ["index.html", "style.css", "state.js", "requests.js", "hosts.js", "processes.js", "history.js",
                        "threads.js", "tasks.js", "flamegraph.js", "start.js"].map { .embedInCode("WebUI/Page/" + $0) }
        ),
        // Wall-clock profiles pushed to Grafana Pyroscope (Connect Push API, /ingest), over HTTP/1.1 or HTTPS.
        .target(
            name: "PMPPyroscope",
            dependencies: [
                "PMP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The server, the trigger and the exporter as services of a swift-service-lifecycle ServiceGroup.
        .target(
            name: "PMPServiceLifecycle",
            dependencies: [
                "PMP",
                "PMPServer",
                "PMPPyroscope",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // In-flight spans of swift-distributed-tracing as process-table entries.
        .target(
            name: "PMPTracing",
            dependencies: [
                "PMPProcessTable",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        // The command-line tools' commands, shared by pmp-aggregate and pmp: no capture engine, no libdw.
        .target(
            name: "PMPCommands",
            dependencies: [
                "PMPAggregate",
                "PMPClient",
                "PMPProfiles",
                "PMPProcessTable",
                "PMPSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "pmp-aggregate",
            dependencies: ["PMPCommands"]
        ),
        // The command-line client: dump, record, top, cancel, link, aggregate.
        .executableTarget(
            name: "pmp",
            dependencies: ["PMPCommands"]
        ),
        // What the tests share: pmp-demo driven as a process, tools run, fixtures found.
        .target(
            name: "PMPTestSupport",
            dependencies: ["PMP", "PMPProfiles", "PMPAggregate", "PMPProcessTable", "PMPSupport", "PMPServer",
                           "CPMPCapture"],
            path: "Tests/PMPTestSupport"
        ),
    ] + testTargets
)

/// One test target per library module, plus the end-to-end tests; each can use every module (a test of the
/// formats reads real dumps of pmp-demo, a test of the server decodes with the client).
var testTargets: [Target] {
    let modules: [Target.Dependency] = [
        "PMPTestSupport", "PMP", "PMPProfiles", "PMPAggregate", "PMPProcessTable", "PMPSupport", "PMPClient",
        "PMPServer", "PMPCommands", "CPMPCapture", "PMPAttach", "PMPPyroscope", "PMPServiceLifecycle", "PMPTracing",
        // The executables the tests start.
        "pmp-demo", "pmp-aggregate", "pmp", "pmp-attach", "pmp-lifecycle-demo",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "InMemoryLogging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
        .product(name: "Instrumentation", package: "swift-distributed-tracing"),
        .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
    ]
    return ["PMPSupportTests", "PMPProfilesTests", "PMPAggregateTests", "PMPProcessTableTests", "PMPTests",
            "PMPAttachTests", "PMPServerTests", "PMPPyroscopeTests", "PMPTracingTests", "PMPServiceLifecycleTests",
            "PMPCommandsTests", "EndToEndTests"]
        .map { Target.testTarget(name: $0, dependencies: modules) }
}

