/// Fitting text into terminal cells. One Character counts as one column (wide East Asian characters and emoji
/// would count double on a terminal: cells holding them may come out a column wider). Whatever passes through
/// here has its control characters escaped first (`TerminalText`): every line of `pmp top` does.
enum CellText {
    /// `text`, escaped, cut to `width` columns, with "…" marking the cut.
    static func truncated(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        let text = TerminalText.escaped(text)
        guard text.count > width else { return text }
        return String(text.prefix(width - 1)) + "…"
    }

    /// `text` cut or padded with blanks to exactly `width` columns.
    static func padded(_ text: String, to width: Int, alignRight: Bool = false) -> String {
        let cut = truncated(text, to: width)
        let padding = String(repeating: " ", count: max(0, width - cut.count))
        return alignRight ? padding + cut : cut + padding
    }
}
