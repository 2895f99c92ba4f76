// swift-tools-version:6.1
import PackageDescription

// A program built with `--static-swift-stdlib` (what Vapor's Dockerfile template builds): the Swift runtime is
// linked into the executable and its `_swift_concurrency_debug_*` symbols are local there, out of dlsym's reach.
// `tools/test` builds it that way and runs it; it checks its own dump for its tasks and exits non-zero if not.
let package = Package(
    name: "pmp-static-stdlib",
    dependencies: [
        .package(name: "swift-pmp", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "pmp-static-check",
            dependencies: [.product(name: "PMP", package: "swift-pmp")]
        ),
    ]
)
