// swift-tools-version:6.1
import PackageDescription

// The process table for Vapor 4 services: `app.middleware.use(ProcessTableMiddleware())`.
// A package of its own, so that swift-pmp itself never depends on a web framework.
let package = Package(
    name: "pmp-vapor",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "PMPVapor", targets: ["PMPVapor"]),
    ],
    dependencies: [
        .package(name: "swift-pmp", path: "../.."),
        .package(path: "../PMPIntegrationTesting"),
        .package(url: "https://github.com/vapor/vapor", from: "4.122.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Already in Vapor's graph: the tests' client, whose requests are traced.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        .target(
            name: "PMPVapor",
            dependencies: [
                .product(name: "PMPProcessTable", package: "swift-pmp"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PMPVaporTests",
            dependencies: [
                "PMPVapor",
                .product(name: "PMPServer", package: "swift-pmp"),
                .product(name: "PMPTracing", package: "swift-pmp"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "PMPIntegrationTesting", package: "PMPIntegrationTesting"),
                .product(name: "Vapor", package: "vapor"),
            ]
        ),
    ]
)
