#if canImport(Glibc)
import Glibc
#endif
import CPMPCapture

/// Readable names for mangled Swift (libswiftCore's swift_demangle) and C++ (libstdc++'s __cxa_demangle) symbols.
public enum Demangler {
    public static func demangle(_ symbol: String) -> String {
        if isSwift(symbol) {
            let result = symbol.withCString { name -> String? in
                guard let output = swift_demangle(name, strlen(name), nil, nil, 0) else { return nil }
                defer { free(output) }
                return String(cString: output)
            }
            return result ?? symbol
        }
        if symbol.hasPrefix("_Z") {
            let result = symbol.withCString { name -> String? in
                var status: Int32 = 0
                guard let output = __cxa_demangle(name, nil, nil, &status), status == 0 else { return nil }
                defer { free(output) }
                return String(cString: output)
            }
            return result ?? symbol
        }
        return symbol
    }

    static func isSwift(_ symbol: String) -> Bool {
        symbol.hasPrefix("$s") || symbol.hasPrefix("$S") || symbol.hasPrefix("_$s") || symbol.hasPrefix("_$S")
            || symbol.hasPrefix("_T0") || symbol.hasPrefix("$e") || symbol.hasPrefix("_$e")
    }
}
