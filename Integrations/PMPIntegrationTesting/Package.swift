// swift-tools-version:6.1
import PackageDescription

// What the framework integrations' tests share: a loopback HTTP client on plain sockets, and a gate for handlers.
let package = Package(
    name: "pmp-integration-testing",
    products: [
        .library(name: "PMPIntegrationTesting", targets: ["PMPIntegrationTesting"]),
    ],
    targets: [
        .target(name: "PMPIntegrationTesting"),
    ]
)
