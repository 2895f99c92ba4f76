/// Fill colours of flame-graph frames: a warm colour picked by a hash of the function name, so that a function
/// keeps its colour across graphs; cool colours for the pseudo-frames (states, threads, processes, the root).
enum FlameColor {
    enum Kind {
        case function, state, thread, process, root
    }

    static func fill(for name: String, kind: Kind) -> String {
        let hash = fnv1a(name)
        let a = Double(hash & 0xff) / 255
        let b = Double((hash >> 8) & 0xff) / 255
        let c = Double((hash >> 16) & 0xff) / 255
        let red, green, blue: Double
        switch kind {
        case .function:  // red to orange to yellow: green below red, blue below green
            red = 205 + 50 * a
            (green, blue) = (red * (0.3 + 0.55 * b), 15 + 45 * c)
        case .state: (red, green, blue) = (70 + 40 * a, 150 + 50 * b, 215 + 40 * c)  // blue
        case .thread: (red, green, blue) = (160 + 40 * a, 120 + 40 * b, 215 + 40 * c)  // violet
        case .process: (red, green, blue) = (90 + 30 * a, 190 + 40 * b, 150 + 40 * c)  // green
        case .root: (red, green, blue) = (200, 200, 200)
        }
        return "rgb(\(Int(red)),\(Int(green)),\(Int(blue)))"
    }

    /// FNV-1a over the UTF-8 bytes: stable across runs, unlike `hashValue`.
    private static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        // Fold the high bits in: the low bytes alone of similar names are too alike.
        return hash ^ (hash >> 29) ^ (hash >> 43)
    }
}
