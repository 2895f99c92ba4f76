#if canImport(Glibc)
import Glibc
#endif

/// The terminal `pmp top` draws on: raw input (keys arrive one by one, unechoed), the alternate screen, a hidden
/// cursor; and the way back to exactly how it was.
final class RawTerminal {
    private let input = STDIN_FILENO
    private let output = STDOUT_FILENO
    private var original = termios()
    private var active = false

    static var isAvailable: Bool { isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 }

    func enter() throws {
        guard tcgetattr(input, &original) == 0 else {
            throw CommandFailure("cannot read the terminal's settings: \(String(cString: strerror(errno)))")
        }
        var raw = original
        // Keys one at a time, no echo, no signals from ^C/^Z (top handles ^C as a key), no output processing.
        cfmakeraw(&raw)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(input, TCSANOW, &raw) == 0 else {
            throw CommandFailure("cannot set the terminal to raw mode: \(String(cString: strerror(errno)))")
        }
        active = true
        // The alternate screen keeps the shell's screen as it was; the cursor hides while drawing.
        write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J")
    }

    /// Leaves raw mode and the alternate screen; safe to call twice.
    func restore() {
        guard active else { return }
        active = false
        write("\u{1B}[?25h\u{1B}[?1049l")
        _ = tcsetattr(input, TCSADRAIN, &original)
    }

    deinit { restore() }

    /// Columns and rows (80×24 when the terminal does not say).
    func size() -> (columns: Int, rows: Int) {
        var size = winsize()
        if ioctl(output, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 {
            return (Int(size.ws_col), Int(size.ws_row))
        }
        return (80, 24)
    }

    /// Draws a frame over the previous one without clearing the screen first (no flicker): from the top-left
    /// corner, each line written and the rest of it erased, then everything below erased. One write.
    func draw(_ lines: [String]) {
        var frame = "\u{1B}[H"
        for (index, line) in lines.enumerated() {
            if index > 0 { frame += "\r\n" }
            frame += line + "\u{1B}[K"
        }
        frame += "\u{1B}[J"
        write(frame)
    }

    /// Bytes typed since the last read (waits for at least one: call when `poll` says there are some).
    func readKeys() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(input, &buffer, buffer.count)
        return count > 0 ? Array(buffer[..<count]) : []
    }

    var inputDescriptor: Int32 { input }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(output, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0, errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
