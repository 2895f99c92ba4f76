// swift-tools-version:6.1
// Benchmarks of swift-pmp, in a package of their own so that building and testing swift-pmp does not build
// the benchmark harness. Run: cd Benchmarks && swift package benchmark
import PackageDescription

let package = Package(
    name: "swift-pmp-benchmarks",
    dependencies: [
        .package(name: "swift-pmp", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CaptureBenchmarks",
            dependencies: [
                .product(name: "PMP", package: "swift-pmp"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CaptureBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
