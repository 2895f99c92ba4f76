import Foundation
import PMPTestSupport
import Testing

/// What the module layout promises users: the command-line tools carry no capture engine, and a package that
/// uses only the process table or only the profile formats builds on a machine without libunwind's and
/// libdw's development headers.
@Suite("module dependencies")
struct ModuleDependencyTests {
    static let executables = URL(fileURLWithPath: PMPTool.executable).deletingLastPathComponent()
    static let packageRoot = TestPaths.packageRoot
    static let engineLibraries = ["libdw.so", "libelf.so", "libunwind"]

    /// The libraries `ldd` says the executable loads, by file name.
    static func loadedLibraries(_ name: String) throws -> [String] {
        let ldd = try ToolRun.run("/usr/bin/ldd", [executables.appendingPathComponent(name).path], timeout: 60)
        #expect(ldd.status == 0, "ldd \(name): \(ldd.stderr)")
        return ldd.stdout.split(separator: "\n").compactMap { line in
            line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
    }

    @Test("pmp and pmp-aggregate load neither libdw, libelf nor libunwind; pmp-demo, which captures, loads libdw",
          .timeLimit(.minutes(2)))
    func commandLineToolsCarryNoEngine() throws {
        for tool in ["pmp", "pmp-aggregate"] {
            let libraries = try Self.loadedLibraries(tool)
            #expect(libraries.contains { $0.hasPrefix("libc.so") }, "\(tool): \(libraries)")
            let engine = libraries.filter { library in Self.engineLibraries.contains { library.hasPrefix($0) } }
            #expect(engine.isEmpty, "\(tool) loads \(engine)")
        }
        // The same reading sees the engine's libraries where they are: the check above can fail.
        let demo = try Self.loadedLibraries("pmp-demo")
        #expect(demo.contains { $0.hasPrefix("libdw.so") }, "pmp-demo: \(demo)")
    }

    /// Builds a copy of the fixture package (Fixtures/ModuleUsers/NAME, which depends on this package by path)
    /// in a private mount namespace where libunwind's headers, elfutils' headers and their pkg-config files
    /// are replaced by empty ones. The script first checks that they are really hidden.
    @Test("a package using only PMPProcessTable, or only PMPProfiles, builds without libunwind's and libdw's headers",
          .timeLimit(.minutes(15)), arguments: ["ProcessTableOnly", "ProfilesOnly"])
    func buildsWithoutEngineHeaders(fixture: String) throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pmp-module-user-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let package = work.appendingPathComponent(fixture)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: ToolRun.fixtures("ModuleUsers").appendingPathComponent(fixture), to: package)
        let manifest = package.appendingPathComponent("Package.swift")
        let text = try String(contentsOf: manifest, encoding: .utf8)
        #expect(text.contains("\"../../../..\""))
        try text.replacingOccurrences(of: "\"../../../..\"", with: "\"\(Self.packageRoot.path)\"")
            .write(to: manifest, atomically: true, encoding: .utf8)

        let script = """
            set -e
            empty_dir=$(mktemp -d); empty_file=$(mktemp)
            for header in /usr/include/libunwind*.h /usr/include/*/libunwind*.h; do
                if [ -e "$header" ]; then mount --bind "$empty_file" "$header"; fi
            done
            if [ -d /usr/include/elfutils ]; then mount --bind "$empty_dir" /usr/include/elfutils; fi
            for pc in $(find /usr/lib /usr/share /usr/local/lib -name 'libdw.pc' -o -name 'libelf.pc' -o -name 'libunwind*.pc' 2>/dev/null); do
                mount --bind "$empty_file" "$pc"
            done
            if printf '#include <libunwind.h>\\nunw_context_t context;\\n' | clang -fsyntax-only -x c - 2>/dev/null; then
                echo "libunwind.h is still visible"; exit 3
            fi
            if printf '#include <elfutils/libdwfl.h>\\nDwfl *dwfl;\\n' | clang -fsyntax-only -x c - 2>/dev/null; then
                echo "elfutils/libdwfl.h is still visible"; exit 3
            fi
            if pkg-config --exists libdw; then echo "libdw.pc is still visible"; exit 3; fi
            echo "engine headers hidden"
            swift build --package-path "$1" --scratch-path "$2" 2>&1
            """
        let run = try ToolRun.run("/usr/bin/unshare", ["-m", "bash", "-c", script, "build", package.path,
                                                       work.appendingPathComponent("build").path],
                                  timeout: 840)
        let output = run.stdout + run.stderr
        #expect(output.contains("engine headers hidden"), "\(output.suffix(2000))")
        #expect(run.status == 0, "\(fixture) did not build without the engine's headers:\n\(output.suffix(4000))")
        #expect(!output.contains("Compiling CPMPCapture") && !output.contains("CElfutils"), "\(output.suffix(4000))")
    }
}
