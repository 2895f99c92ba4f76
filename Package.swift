// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-pmp",
    products: [
        .library(name: "PMP", targets: ["PMP"]),
        .executable(name: "pmp-demo", targets: ["pmp-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
        .target(
            name: "PMP",
            dependencies: [
                "CPMPCapture",
                "CElfutils",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "pmp-demo",
            dependencies: [
                "PMP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "PMPTests",
            dependencies: ["PMP", "CPMPCapture", "pmp-demo", .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
