#if canImport(Glibc)
import Glibc
#endif
import CElfutils
import CPMPCapture
import Synchronization
import PMPProfiles

/// Turns addresses of this process into readable frames with elfutils' libdwfl: ELF symbols of every loaded
/// image (the executable's local ones too), DWARF file:line and inline frames where present, demangled names.
/// Results are cached per address; the cache is dropped when the set of loaded images changes.
public final class Symbolizer: Sendable {
    public static let shared = Symbolizer()

    /// The process whose addresses are symbolized: this one, or another one (a dump from outside), whose files
    /// are read through `/proc/PID/root` and whose images are taken as they were when the symbolizer was made.
    public let pid: Int32

    public init(pid: Int32? = nil) {
        self.pid = pid ?? getpid()
    }

    /// One resolved location: several frames when functions were inlined there (innermost first).
    struct Location {
        var frames: [Frame]
    }

    private final class State {
        var session: DwflSession?
        var cache: [UInt64: [Frame]] = [:]
        var loaderGeneration: (adds: UInt64, subs: UInt64) = (0, 0)
    }

    private let state = Mutex<State>(State())

    /// Symbolizes a stack (leaf first). Caller frames hold return addresses, so they are looked up one byte
    /// earlier: the call instruction, not whatever follows it. `entryPoints`: every address is where a function
    /// starts (an async task's resume points), looked up as it is.
    public func symbolize(_ addresses: [UInt64], entryPoints: Bool = false) -> [Frame] {
        state.withLock { state in
            refreshIfImagesChanged(state)
            var frames: [Frame] = []
            frames.reserveCapacity(addresses.count + 4)
            for (index, address) in addresses.enumerated() {
                let lookup = index == 0 || entryPoints ? address : address &- 1
                let key = lookup
                var resolved: [Frame]
                if let cached = state.cache[key] {
                    resolved = cached
                } else {
                    if state.session == nil { state.session = DwflSession(pid: pid) }
                    resolved = state.session?.resolve(lookup) ?? [Frame(address: 0, function: "?", image: "?")]
                    state.cache[key] = resolved
                }
                for i in resolved.indices { resolved[i].address = address }
                frames.append(contentsOf: resolved)
            }
            return frames
        }
    }

    /// The full demangled name of the function each address starts or lies in, from the symbol tables alone
    /// (no DWARF read, nothing cached): for a check that needs names only, such as the task layout probe's.
    func functionNames(_ addresses: [UInt64]) -> [String] {
        state.withLock { state in
            refreshIfImagesChanged(state)
            if state.session == nil { state.session = DwflSession(pid: pid) }
            return addresses.map { state.session?.functionName($0) ?? "?" }
        }
    }

    /// Reads the process's memory map now, so that the first capture does not pay for it. Symbol tables and
    /// DWARF (line tables, inline scopes) are loaded per image when an address in it is first looked up: most
    /// images never appear in a stack, and what is read of an image stays resident.
    public func warmUp() {
        state.withLock { state in
            refreshIfImagesChanged(state)
            if state.session == nil { state.session = DwflSession(pid: pid) }
        }
    }

    /// Gives back the resident pages of the symbol and debug files read so far (see `MappedFilePages`);
    /// resolved addresses stay cached.
    public func releaseMappedFilePages() {
        state.withLock { state in
            if let session = state.session { MappedFilePages.release(session.mappedFiles()) }
        }
    }

    /// Number of cached addresses (for tests and benchmarks).
    public var cachedAddressCount: Int { state.withLock { $0.cache.count } }

    /// Drops every cached symbol and the DWARF session.
    public func reset() {
        state.withLock { state in
            state.session = nil
            state.cache.removeAll()
        }
    }

    private func refreshIfImagesChanged(_ state: State) {
        // The loader's counters are this process's; another process's images are read once.
        guard pid == getpid() else { return }
        let generation = LoaderGeneration.current()
        if generation != state.loaderGeneration {
            state.loaderGeneration = generation
            // Images still loaded keep their module, its debug information and their cached addresses; an
            // unloaded image's addresses may now belong to a new one, so theirs go.
            if let session = state.session {
                let kept = session.refreshModules(keeping: Array(state.cache.keys))
                state.cache = state.cache.filter { kept.contains($0.key) }
            } else {
                state.cache.removeAll(keepingCapacity: true)
            }
        }
    }
}

/// glibc counts every image load and unload; a change means cached addresses may now mean something else.
enum LoaderGeneration {
    static func current() -> (adds: UInt64, subs: UInt64) {
        var adds: UInt64 = 0
        var subs: UInt64 = 0
        pmp_loader_generation(&adds, &subs)
        return (adds, subs)
    }
}

/// One libdwfl session over a process's current memory map (this one's unless told otherwise).
final class DwflSession {
    private let callbacks: UnsafeMutablePointer<Dwfl_Callbacks>
    private let dwfl: OpaquePointer?
    private let pid: Int32

    init(pid: Int32 = getpid()) {
        self.pid = pid
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: Dwfl_Callbacks(
            find_elf: dwfl_linux_proc_find_elf,
            find_debuginfo: { module, userdata, name, base, file, debuglink, crc, debugFile in
                DwflSession.findDebuginfo(module, userdata, name, base, file, debuglink, crc, debugFile)
            },
            section_address: dwfl_offline_section_address,
            debuginfo_path: nil))
        dwfl = dwfl_begin(callbacks)
        if let dwfl {
            dwfl_report_begin(dwfl)
            _ = ProcessModules.report(dwfl, pid: pid)
            _ = dwfl_report_end(dwfl, nil, nil)
        }
    }

    /// Re-reads the memory map: libdwfl keeps the modules reported again with the same name and range and
    /// frees the rest, so the per-module tables of freed modules are dropped before their pointers can be reused.
    /// Returns those of `addresses` that lie in a module loaded both before and after.
    func refreshModules(keeping addresses: [UInt64]) -> Set<UInt64> {
        guard let dwfl else { return [] }
        let before = liveModules(dwfl)
        dwfl_report_begin(dwfl)
        _ = ProcessModules.report(dwfl, pid: pid)
        _ = dwfl_report_end(dwfl, nil, nil)
        let live = liveModules(dwfl)
        dwarfUse = dwarfUse.filter { live.contains($0.key) }
        unitIndexes = unitIndexes.filter { live.contains($0.key) }
        return Set(addresses.filter { address in
            guard let module = dwfl_addrmodule(dwfl, Dwarf_Addr(address)) else { return false }
            return before.contains(module) && live.contains(module)
        })
    }

    private func liveModules(_ dwfl: OpaquePointer) -> Set<OpaquePointer> {
        var live = Set<OpaquePointer>()
        withUnsafeMutablePointer(to: &live) { pointer in
            _ = dwfl_getmodules(dwfl, { module, _, _, _, argument in
                if let module {
                    argument!.assumingMemoryBound(to: Set<OpaquePointer>.self).pointee.insert(module)
                }
                return Int32(DWARF_CB_OK)
            }, pointer, 0)
        }
        return live
    }

    deinit {
        if let dwfl { dwfl_end(dwfl) }
        callbacks.deallocate()
    }

    /// libdwfl's standard search for a separate debug file (by build id, then by `.gnu_debuglink`), without its
    /// last resort: when nothing is found on disk, the standard search loads libdebuginfod (and with it libcurl
    /// and a TLS stack, megabytes resident) and, with `DEBUGINFOD_URLS` set, downloads debug files over the
    /// network from inside the service. Images without debug information, such as the Swift runtime, always get
    /// there; so the standard search runs only when a debug-link candidate exists on disk.
    static func findDebuginfo(_ module: OpaquePointer?, _ userdata: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                              _ name: UnsafePointer<CChar>?, _ base: Dwarf_Addr, _ file: UnsafePointer<CChar>?,
                              _ debuglink: UnsafePointer<CChar>?, _ crc: GElf_Word,
                              _ debugFile: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
        let byBuildID = dwfl_build_id_find_debuginfo(module, userdata, name, base, file, debuglink, crc, debugFile)
        if byBuildID >= 0 { return byBuildID }
        guard let debuglink, let file else { return -1 }
        let link = String(cString: debuglink)
        let path = String(cString: file)
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        // The places the standard search looks in for a debug link.
        let candidates = [directory + "/" + link, directory + "/.debug/" + link, "/usr/lib/debug" + directory + "/" + link]
        guard candidates.contains(where: { $0 != path && access($0, R_OK) == 0 }) else { return -1 }
        return dwfl_standard_find_debuginfo(module, userdata, name, base, file, debuglink, crc, debugFile)
    }

    /// The full demangled name of the symbol covering `address`, from the module's symbol table.
    func functionName(_ address: UInt64) -> String? {
        guard let dwfl, let module = dwfl_addrmodule(dwfl, Dwarf_Addr(address)) else { return nil }
        return Self.symbol(module, address)?.names.full
    }

    /// The symbol-table entry covering `address` in `module`: its names, the offset into it and the entry.
    private static func symbol(_ module: OpaquePointer, _ address: UInt64)
        -> (names: (short: String, full: String), offset: GElf_Off, entry: GElf_Sym)? {
        var offset: GElf_Off = 0
        var entry = GElf_Sym()
        guard let name = dwfl_module_addrinfo(module, Dwarf_Addr(address), &offset, &entry, nil, nil, nil) else {
            return nil
        }
        return (Demangler.names(String(cString: name)), offset, entry)
    }

    /// The frames at `address` (a pc already adjusted for return addresses), innermost inline first.
    func resolve(_ address: UInt64) -> [Frame] {
        guard let dwfl, let module = dwfl_addrmodule(dwfl, Dwarf_Addr(address)) else {
            return [Frame(address: address, function: "?", image: "?")]
        }
        var mainFile: UnsafePointer<CChar>?
        let moduleName = dwfl_module_info(module, nil, nil, nil, nil, nil, &mainFile, nil)
        let image = Self.imageName(mainFile.map { String(cString: $0) } ?? moduleName.map { String(cString: $0) } ?? "?")

        let found = Self.symbol(module, address)
        let offset = found?.offset ?? 0
        let symbol = found?.entry ?? GElf_Sym()
        let function = found?.names ?? (short: "?", full: "?")

        var file: String?
        var line: Int?
        var inlined: [InlineScope] = []
        if usesDwarf(module), var unit = compileUnit(module: module, address: address, nearest: offset == 0) {
            let pc = Dwarf_Addr(address) &- unit.bias
            if let source = dwarf_getsrc_die(&unit.die, pc) {
                var lineNumber: Int32 = 0
                _ = dwarf_lineno(source, &lineNumber)
                if let name = dwarf_linesrc(source, nil, nil) {
                    file = String(cString: name)
                    line = lineNumber > 0 ? Int(lineNumber) : nil
                }
            }
            // A function's first row often says line 0 (an async function's resume partial, for one): the
            // first row inside the function that names a line is where it is.
            if line == nil, offset == 0, symbol.st_size > 0,
               let first = firstLine(unit: &unit.die, low: pc, high: pc &+ Dwarf_Addr(symbol.st_size)) {
                file = first.file
                line = first.line
            }
            inlined = inlineChain(unit: &unit.die, pc: pc)
        }
        guard !inlined.isEmpty else {
            return [Frame(address: address, function: function.short, fullFunction: function.full, file: file,
                          line: line, image: image)]
        }
        // inlined[i] is an inlined call whose body holds the pc; its call site lies in the next scope out.
        var frames: [Frame] = []
        var currentFile = file
        var currentLine = line
        for scope in inlined {
            frames.append(Frame(address: address, function: scope.name.short, fullFunction: scope.name.full,
                                file: currentFile, line: currentLine, image: image, inlined: true))
            currentFile = scope.callFile ?? currentFile
            currentLine = scope.callLine ?? currentLine
        }
        frames.append(Frame(address: address, function: function.short, fullFunction: function.full, file: currentFile,
                            line: currentLine, image: image))
        return frames
    }

    private struct InlineScope {
        var name: (short: String, full: String)
        var callFile: String?
        var callLine: Int?
    }

    /// Whether to read the module's DWARF. A separate debug file with compressed sections (Debian's libc6-dbg,
    /// for one) is decompressed whole, every section, into memory as libdw opens it: about 15 MB resident for
    /// glibc, for the file:line and inlined frames of C library frames. Its symbol table, which names them, is
    /// read either way. `PMP_COMPRESSED_DEBUG_INFO=1` reads such files' DWARF too.
    private func usesDwarf(_ module: OpaquePointer) -> Bool {
        if let known = dwarfUse[module] { return known }
        var mainFile: UnsafePointer<CChar>?
        var debugFile: UnsafePointer<CChar>?
        _ = dwfl_module_info(module, nil, nil, nil, nil, nil, &mainFile, &debugFile)
        var uses = true
        if let debugFile, mainFile.map({ strcmp($0, debugFile) != 0 }) ?? true, !Self.readsCompressedDebugInfo {
            uses = !Self.hasCompressedDebugInfo(debugFile)
        }
        dwarfUse[module] = uses
        return uses
    }

    private var dwarfUse: [OpaquePointer: Bool] = [:]

    /// The files libelf holds for the images looked up so far: each one's ELF, and its DWARF's when used.
    func mappedFiles() -> [UnsafeRawBufferPointer] {
        var files: [UnsafeRawBufferPointer] = []
        func add(_ elf: OpaquePointer?) {
            guard let elf else { return }
            var size = 0
            if let raw = elf_rawfile(elf, &size), size > 0 {
                let region = UnsafeRawBufferPointer(start: UnsafeRawPointer(raw), count: size)
                if !files.contains(where: { $0.baseAddress == region.baseAddress }) { files.append(region) }
            }
        }
        for (module, usesDwarf) in dwarfUse {
            var bias: Dwarf_Addr = 0
            add(dwfl_module_getelf(module, &bias))
            if usesDwarf, let dwarf = dwfl_module_getdwarf(module, &bias) { add(dwarf_getelf(dwarf)) }
        }
        return files
    }

    private static let readsCompressedDebugInfo = getenvString("PMP_COMPRESSED_DEBUG_INFO").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false

    /// True when the file's `.debug_info` is compressed (SHF_COMPRESSED, or the older `.zdebug_info`); reads
    /// section headers only.
    private static func hasCompressedDebugInfo(_ path: UnsafePointer<CChar>) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard let elf = elf_begin(descriptor, ELF_C_READ_MMAP, nil) else { return false }
        defer { elf_end(elf) }
        var stringSection = 0
        guard elf_getshdrstrndx(elf, &stringSection) == 0 else { return false }
        var section: OpaquePointer?
        while let next = elf_nextscn(elf, section) {
            section = next
            var header = GElf_Shdr()
            guard gelf_getshdr(next, &header) != nil, let name = elf_strptr(elf, stringSection, Int(header.sh_name)) else { continue }
            if strcmp(name, ".zdebug_info") == 0 { return true }
            if strcmp(name, ".debug_info") == 0 { return header.sh_flags & UInt64(SHF_COMPRESSED) != 0 }
        }
        return false
    }

    private struct UnitRange {
        var low: Dwarf_Addr
        var high: Dwarf_Addr
        /// The compile unit's DIE, by offset: libdw reads the unit only when an address in it is looked up.
        var dieOffset: Dwarf_Off
    }

    private struct UnitIndex {
        var dwarf: OpaquePointer?
        var bias: Dwarf_Addr
        var ranges: [UnitRange]
    }

    /// Per module, the address ranges of its compile units, sorted: libdw finds a unit through .debug_aranges,
    /// which Swift's toolchain does not emit.
    private var unitIndexes: [OpaquePointer: UnitIndex] = [:]

    /// The row with the lowest address in [low, high) whose line is not 0.
    private func firstLine(unit: UnsafeMutablePointer<Dwarf_Die>, low: Dwarf_Addr, high: Dwarf_Addr) -> (file: String, line: Int)? {
        var lines: OpaquePointer?
        var count = 0
        guard dwarf_getsrclines(unit, &lines, &count) == 0, let lines else { return nil }
        var best: (address: Dwarf_Addr, file: String, line: Int)?
        for index in 0..<count {
            guard let row = dwarf_onesrcline(lines, index) else { continue }
            var address: Dwarf_Addr = 0
            var number: Int32 = 0
            guard dwarf_lineaddr(row, &address) == 0, address >= low, address < high,
                  dwarf_lineno(row, &number) == 0, number > 0, best.map({ address < $0.address }) ?? true,
                  let name = dwarf_linesrc(row, nil, nil)
            else { continue }
            best = (address, String(cString: name), Int(number))
        }
        return best.map { ($0.file, $0.line) }
    }

    /// The compile unit holding `address`; with `nearest`, else the one whose range starts last before it (the
    /// ranges of Swift units leave out the partial functions of async functions).
    private func compileUnit(module: OpaquePointer, address: UInt64, nearest: Bool = false) -> (die: Dwarf_Die, bias: Dwarf_Addr)? {
        var bias: Dwarf_Addr = 0
        if let die = dwfl_module_addrdie(module, Dwarf_Addr(address), &bias) { return (die.pointee, bias) }
        let index = unitIndexes[module] ?? buildUnitIndex(module)
        guard let dwarf = index.dwarf else { return nil }
        let pc = Dwarf_Addr(address) &- index.bias
        var low = 0
        var high = index.ranges.count
        while low < high {
            let middle = (low + high) / 2
            if index.ranges[middle].low <= pc { low = middle + 1 } else { high = middle }
        }
        guard low > 0, pc < index.ranges[low - 1].high || nearest else { return nil }
        var die = Dwarf_Die()
        guard dwarf_offdie(dwarf, index.ranges[low - 1].dieOffset, &die) != nil else { return nil }
        return (die, index.bias)
    }

    /// Reads every compile unit's address ranges through a libdw handle of its own, closed at the end: libdw
    /// keeps what it learnt of each unit it has read (a few kB each, thousands of units in a Swift executable)
    /// for as long as its handle lives, and the session's handle should only hold the units stacks are in.
    private func buildUnitIndex(_ module: OpaquePointer) -> UnitIndex {
        var bias: Dwarf_Addr = 0
        var index = UnitIndex(dwarf: dwfl_module_getdwarf(module, &bias), bias: bias, ranges: [])
        defer { unitIndexes[module] = index }
        guard index.dwarf != nil else { return index }
        var mainFile: UnsafePointer<CChar>?
        var debugFile: UnsafePointer<CChar>?
        _ = dwfl_module_info(module, nil, nil, nil, nil, nil, &mainFile, &debugFile)
        let descriptor = (debugFile ?? mainFile).map { open($0, O_RDONLY | O_CLOEXEC) } ?? -1
        guard descriptor >= 0 else { return index }
        defer { close(descriptor) }
        guard let scratch = dwarf_begin(descriptor, DWARF_C_READ) else { return index }
        defer { dwarf_end(scratch) }
        var unit: OpaquePointer?
        var next: OpaquePointer?
        var version: Dwarf_Half = 0
        var unitType: UInt8 = 0
        var die = Dwarf_Die()
        while dwarf_get_units(scratch, unit, &next, &version, &unitType, &die, nil) == 0 {
            unit = next
            guard unitType == UInt8(DW_UT_compile) || unitType == UInt8(DW_UT_partial) else { continue }
            let dieOffset = dwarf_dieoffset(&die)
            var offset = 0
            var base: Dwarf_Addr = 0
            var start: Dwarf_Addr = 0
            var end: Dwarf_Addr = 0
            while true {
                offset = dwarf_ranges(&die, offset, &base, &start, &end)
                if offset <= 0 { break }
                if end > start { index.ranges.append(UnitRange(low: start, high: end, dieOffset: dieOffset)) }
            }
        }
        index.ranges.sort { $0.low < $1.low }
        return index
    }

    /// The inlined subroutines that contain `pc` (relative to the unit), innermost first.
    private func inlineChain(unit: UnsafeMutablePointer<Dwarf_Die>, pc: Dwarf_Addr) -> [InlineScope] {
        let cu = unit
        var scopes: UnsafeMutablePointer<Dwarf_Die>?
        let count = dwarf_getscopes(cu, pc, &scopes)
        guard count > 0, let scopes else { return [] }
        defer { free(scopes) }
        var files: OpaquePointer?
        var fileCount = 0
        _ = dwarf_getsrcfiles(cu, &files, &fileCount)

        var chain: [InlineScope] = []
        for index in 0..<Int(count) {
            let die = scopes + index
            let tag = dwarf_tag(die)
            if tag == DW_TAG_subprogram { break }
            guard tag == DW_TAG_inlined_subroutine else { continue }
            var scope = InlineScope(name: Self.name(of: die))
            var attribute = Dwarf_Attribute()
            var value: Dwarf_Word = 0
            if dwarf_attr(die, UInt32(DW_AT_call_file), &attribute) != nil, dwarf_formudata(&attribute, &value) == 0,
               let files, let name = dwarf_filesrc(files, Int(value), nil, nil) {
                scope.callFile = String(cString: name)
            }
            if dwarf_attr(die, UInt32(DW_AT_call_line), &attribute) != nil, dwarf_formudata(&attribute, &value) == 0 {
                scope.callLine = Int(value)
            }
            chain.append(scope)
        }
        return chain
    }

    private static func name(of die: UnsafeMutablePointer<Dwarf_Die>) -> (short: String, full: String) {
        var attribute = Dwarf_Attribute()
        for code in [DW_AT_linkage_name, DW_AT_MIPS_linkage_name] {
            if dwarf_attr_integrate(die, UInt32(code), &attribute) != nil, let text = dwarf_formstring(&attribute) {
                return Demangler.names(String(cString: text))
            }
        }
        if let text = dwarf_diename(die) { return Demangler.names(String(cString: text)) }
        if dwarf_attr_integrate(die, UInt32(DW_AT_name), &attribute) != nil, let text = dwarf_formstring(&attribute) {
            let name = String(cString: text)
            return (name, name)
        }
        return ("?", "?")
    }

    static func imageName(_ path: String) -> String {
        if let slash = path.lastIndex(of: "/") { return String(path[path.index(after: slash)...]) }
        return path
    }
}
