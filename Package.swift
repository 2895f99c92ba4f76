// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-pmp",
    products: [
        .library(name: "PMP", targets: ["PMP"]),
        .library(name: "PMPServer", targets: ["PMPServer"]),
        // The command-line tools' commands, a product for the fuzz targets under Fuzz/.
        .library(name: "PMPCommands", targets: ["PMPCommands"]),
        .executable(name: "pmp-demo", targets: ["pmp-demo"]),
        .executable(name: "pmp-aggregate", targets: ["pmp-aggregate"]),
        .executable(name: "pmp", targets: ["pmp"]),
        .executable(name: "pmp-attach", targets: ["pmp-attach"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
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
        // HTTP endpoints on SwiftNIO, on an event loop of their own.
        .target(
            name: "PMPServer",
            dependencies: [
                "PMP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
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
            dependencies: ["PMP", "PMPServer", "PMPCommands", "CPMPCapture", "PMPAttach", "pmp-demo", "pmp-aggregate", "pmp",
                           "pmp-attach",
                           .product(name: "Logging", package: "swift-log")],
            exclude: ["Fixtures"]
        ),
    ]
)
