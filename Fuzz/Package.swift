// swift-tools-version:6.1
// libFuzzer targets for swift-pmp's readers, parsers and HTTP code. A package of its own so that the main
// build never sees fuzz-only targets or flags; built and run by tools/fuzz.
import PackageDescription

/// The fuzz targets: each name is a directory in Sources/ (`fuzz-NAME`), and what it needs of swift-pmp.
let targets: [(name: String, dependencies: [Target.Dependency])] = [
    ("aggregate", [.product(name: "PMPAggregate", package: "swift-pmp"), .product(name: "PMPProfiles", package: "swift-pmp")]),
    ("dump", [.product(name: "PMPAggregate", package: "swift-pmp"), .product(name: "PMPProfiles", package: "swift-pmp")]),
    ("gdb", [.product(name: "PMPAggregate", package: "swift-pmp"), .product(name: "PMPProfiles", package: "swift-pmp")]),
    ("eu-stack", [.product(name: "PMPAggregate", package: "swift-pmp"), .product(name: "PMPProfiles", package: "swift-pmp")]),
    ("go-traceback", [.product(name: "PMPAggregate", package: "swift-pmp"), .product(name: "PMPProfiles", package: "swift-pmp")]),
    ("go-profile", [.product(name: "PMPAggregate", package: "swift-pmp"), .product(name: "PMPProfiles", package: "swift-pmp")]),
    ("pprof", [.product(name: "PMPProfiles", package: "swift-pmp")]),
    ("speedscope", [.product(name: "PMPProfiles", package: "swift-pmp")]),
    ("server-request", [.product(name: "PMP", package: "swift-pmp"), .product(name: "PMPServer", package: "swift-pmp"),
                        .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                        .product(name: "NIOHTTP1", package: "swift-nio")]),
    ("client-response", [.product(name: "PMPClient", package: "swift-pmp")]),
]

let package = Package(
    name: "swift-pmp-fuzz",
    dependencies: [
        .package(name: "swift-pmp", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", .product(name: "PMPAggregate", package: "swift-pmp"),
                                                .product(name: "PMPProfiles", package: "swift-pmp")]),
    ] + targets.map { target in
        .executableTarget(name: "fuzz-\(target.name)", dependencies: ["FuzzSupport"] + target.dependencies,
                          path: "Sources/\(target.name)")
    }
)
