// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-pmp",
    products: [
        .library(name: "PMP", targets: ["PMP"]),
        .library(name: "PMPServer", targets: ["PMPServer"]),
        .library(name: "PMPPyroscope", targets: ["PMPPyroscope"]),
        .library(name: "PMPServiceLifecycle", targets: ["PMPServiceLifecycle"]),
        .library(name: "PMPTracing", targets: ["PMPTracing"]),
        // The command-line tools' commands, a product for the fuzz targets under Fuzz/.
        .library(name: "PMPCommands", targets: ["PMPCommands"]),
        .executable(name: "pmp-demo", targets: ["pmp-demo"]),
        .executable(name: "pmp-aggregate", targets: ["pmp-aggregate"]),
        .executable(name: "pmp", targets: ["pmp"]),
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
        .target(
            name: "CPMPCapture",
            linkerSettings: [.linkedLibrary("stdc++")]
        ),
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
        .target(
            name: "PMP",
            dependencies: [
                "CPMPCapture",
                "CElfutils",
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
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
        // HTTP endpoints on SwiftNIO, on an event loop of their own.
        .target(
            name: "PMPServer",
            dependencies: [
                "PMP",
                "PMPPyroscope",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
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
                "PMP",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        // The command-line tools' commands, shared by pmp-aggregate and pmp.
        .target(
            name: "PMPCommands",
            dependencies: [
                "PMP",
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
        .testTarget(
            name: "PMPTests",
            dependencies: ["PMP", "PMPServer", "PMPCommands", "CPMPCapture", "pmp-demo", "pmp-aggregate", "pmp",
                           "PMPPyroscope", "PMPServiceLifecycle", "PMPTracing",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "InMemoryLogging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Tracing", package: "swift-distributed-tracing"),
                           .product(name: "Instrumentation", package: "swift-distributed-tracing")],
            exclude: ["Fixtures"]
        ),
    ]
)
