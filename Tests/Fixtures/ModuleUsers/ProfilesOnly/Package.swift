// swift-tools-version:6.1
// A tool that only reads and writes profiles: it must build without libunwind's and libdw's headers.
import PackageDescription

let package = Package(
    name: "profiles-user",
    dependencies: [.package(name: "swift-pmp", path: "../../../..")],
    targets: [
        .executableTarget(
            name: "ProfilesUser",
            dependencies: [.product(name: "PMPProfiles", package: "swift-pmp")]
        ),
    ]
)
