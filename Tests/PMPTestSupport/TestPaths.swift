import Foundation

/// Where the package's files are, for tests that read fixtures, scripts or sources.
package enum TestPaths {
    /// The package's root directory.
    package static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Tests/Fixtures.
    package static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")

    /// A file or directory of the package, by its path from the root.
    package static func file(_ path: String) -> URL { packageRoot.appendingPathComponent(path) }
}
