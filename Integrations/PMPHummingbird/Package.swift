// swift-tools-version:6.2
import PackageDescription

// The process table for Hummingbird 2 services: `router.add(middleware: ProcessTableMiddleware())`.
// A package of its own, so that swift-pmp itself never depends on a web framework.
let package = Package(
    name: "pmp-hummingbird",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PMPHummingbird", targets: ["PMPHummingbird"]),
    ],
    dependencies: [
        .package(name: "swift-pmp", path: "../.."),
        .package(path: "../PMPIntegrationTesting"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "PMPHummingbird",
            dependencies: [
                .product(name: "PMPProcessTable", package: "swift-pmp"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The minimal service tools/bench-process-table measures with and without the middleware.
        .executableTarget(
            name: "pmp-hummingbird-bench",
            dependencies: [
                "PMPHummingbird",
                .product(name: "PMPProcessTable", package: "swift-pmp"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "PMPHummingbirdTests",
            dependencies: [
                "PMPHummingbird",
                .product(name: "PMPServer", package: "swift-pmp"),
                .product(name: "PMPIntegrationTesting", package: "PMPIntegrationTesting"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
