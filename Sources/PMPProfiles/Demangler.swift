#if canImport(Glibc)
import Glibc
#endif
import CPMPDemangle

/// Readable names for mangled Swift (libswiftCore's demanglers) and C++ (libstdc++'s __cxa_demangle) symbols,
/// in two styles:
///
/// - short, as Swift's own crash backtracer prints them: `specialized static Workers.sleepingInNanosleep()`,
///   `closure #1 in static Workers.startThread(name:_:)` (no module, parameter types or return type);
/// - full: `function signature specialization <Arg[0] = Dead> of static pmp_demo.Workers.sleepingInNanosleep() -> ()`.
///
/// The short style tells overloads apart less well (`f(_:)` for `f(_: Int)` and `f(_: String)`): whatever
/// folds stacks by name uses the full one.
public enum Demangler {
    /// Both names of `symbol`; a symbol that is not mangled is both.
    public static func names(_ symbol: String) -> (short: String, full: String) {
        if isSwift(symbol) {
            let full = swiftFull(symbol) ?? symbol
            return (swiftShort(symbol) ?? full, full)
        }
        if symbol.hasPrefix("_Z") {
            let name = cxx(symbol) ?? symbol
            return (name, name)
        }
        return (symbol, symbol)
    }

    /// The full name.
    public static func demangle(_ symbol: String) -> String { names(symbol).full }

    /// The short name, as Swift's crash backtracer prints it.
    public static func short(_ symbol: String) -> String { names(symbol).short }

    static func isSwift(_ symbol: String) -> Bool {
        symbol.hasPrefix("$s") || symbol.hasPrefix("$S") || symbol.hasPrefix("_$s") || symbol.hasPrefix("_$S")
            || symbol.hasPrefix("_T0") || symbol.hasPrefix("$e") || symbol.hasPrefix("_$e")
    }

    private static func swiftFull(_ symbol: String) -> String? {
        symbol.withCString { name -> String? in
            guard let output = swift_demangle(name, strlen(name), nil, nil, 0) else { return nil }
            defer { free(output) }
            return String(cString: output)
        }
    }

    /// `(name, length, buffer, buffer size) -> malloc'd name`: libswiftCore's backtracer demangler, which
    /// formats with the simplified options. Weakly linked: it is runtime SPI, so a runtime without it gets full
    /// names instead of failing to load.
    private typealias BacktraceDemangle = @convention(c) (UnsafePointer<CChar>?, Int, UnsafeMutablePointer<CChar>?,
                                                          UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<CChar>?

    private nonisolated(unsafe) static let backtraceDemangle: BacktraceDemangle? = {
        guard let address = pmp_backtrace_demangle_address() else { return nil }
        return unsafeBitCast(address, to: BacktraceDemangle.self)
    }()

    private static func swiftShort(_ symbol: String) -> String? {
        guard let backtraceDemangle else { return nil }
        return symbol.withCString { name -> String? in
            var size = 0
            guard let output = backtraceDemangle(name, strlen(name), nil, &size) else { return nil }
            defer { free(output) }
            let text = String(cString: output)
            return text.isEmpty ? nil : text
        }
    }

    private static func cxx(_ symbol: String) -> String? {
        symbol.withCString { name -> String? in
            var status: Int32 = 0
            guard let output = __cxa_demangle(name, nil, nil, &status), status == 0 else { return nil }
            defer { free(output) }
            return String(cString: output)
        }
    }
}
