// swift-tools-version:6.1
// A service that wants only the process table: it must build without libunwind's and libdw's headers.
import PackageDescription

let package = Package(
    name: "process-table-user",
    dependencies: [.package(name: "swift-pmp", path: "../../../..")],
    targets: [
        .executableTarget(
            name: "ProcessTableUser",
            dependencies: [.product(name: "PMPProcessTable", package: "swift-pmp")]
        ),
    ]
)
