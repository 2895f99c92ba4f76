import PMPSupport
/// A self-contained SVG flame graph, drawn like flamegraph.pl: the root ("all") at the bottom, callees stacked
/// above their callers, siblings in name order, each frame as wide as its share of the samples.
///
/// - Frames narrower than 0.1 px are left out (with what is above them), and so are the narrowest when there are
///   more than `maxFrames` (the subtitle then says from what width); labels are cut to fit their box and left
///   empty when fewer than three characters fit.
/// - Colours: warm, picked by a hash of the function name (the same function has the same colour everywhere);
///   blue for `[wait reason]` frames (`byState`), violet for `{thread}` frames (`byThread`), green for
///   `process …` frames (stacks that carry a process).
/// - Every frame has a `<title>`, "function (N samples, P%)", shown on hover; clicking a frame zooms to it and
///   clicking the root zooms back out (an inline script; no external scripts, styles or fonts).
public enum FlameGraphRenderer {
    /// Image width in pixels.
    static let width = 1200.0
    static let sidePadding = 10.0
    static let frameHeight = 16.0
    static let fontSize = 12.0
    /// Average advance of a character at `fontSize` in the sans-serif fonts used, for cutting labels.
    static let characterWidth = fontSize * 0.59
    static let headerHeight = 56.0
    static let footerHeight = 10.0
    static let minimumFrameWidth = 0.1

    static var plotWidth: Double { width - 2 * sidePadding }

    /// Frames drawn at most: about 250 bytes each, and browsers slow down past a few tens of thousands.
    public static let defaultMaxFrames = 20_000

    public static func render(_ profile: Profile, options: RenderOptions = RenderOptions(),
                              maxFrames: Int = defaultMaxFrames) -> String {
        let totalSamples = profile.stacks.reduce(0) { $0.addingSaturated(max($1.count, 0)) }
        let layout = FlameGraphLayout(profile, options: options,
                                      minimumSamples: Double(totalSamples) * minimumFrameWidth / plotWidth,
                                      maxFrames: max(maxFrames, 1))
        let rows = layout.nodes.isEmpty ? 1 : layout.maxDepth + 1
        let height = headerHeight + Double(rows) * frameHeight + footerHeight

        var svg = ""
        svg.reserveCapacity(2048 + layout.nodes.count * 240)
        svg += """
            <?xml version="1.0" encoding="UTF-8" standalone="no"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))">
            <style>
            text { font-family: Verdana, "DejaVu Sans", sans-serif; font-size: \(Int(fontSize))px; fill: #000; }
            .heading { font-size: 17px; }
            .subheading { fill: #555; }
            g.f text { pointer-events: none; }
            g.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }
            </style>
            <rect x="0" y="0" width="100%" height="100%" fill="#fdfaf3"/>
            <text class="heading" x="\(Int(width / 2))" y="24" text-anchor="middle">\(XMLEscape.escape(options.title))</text>
            <text class="subheading" x="\(Int(width / 2))" y="44" text-anchor="middle">\(XMLEscape.escape(summary(profile, layout: layout)))</text>

            """
        if layout.nodes.isEmpty {
            svg += "<text x=\"\(Int(width / 2))\" y=\"\(Int(headerHeight + frameHeight))\" text-anchor=\"middle\">No samples</text>\n"
        } else {
            svg += "<g id=\"frames\">\n"
            let scale = plotWidth / Double(layout.totalSamples)
            for node in layout.nodes {
                let x = sidePadding + Double(node.start) * scale
                let frameWidth = Double(node.count) * scale
                let y = height - footerHeight - Double(node.depth + 1) * frameHeight
                svg += "<g class=\"f\"><title>"
                svg += XMLEscape.escape(node.name)
                svg += " (\(node.count) \(node.count == 1 ? "sample" : "samples"), "
                svg += percent(node.count, of: layout.totalSamples)
                svg += "%)</title><rect x=\"\(decimal(x))\" y=\"\(decimal(y))\" width=\"\(decimal(frameWidth))\" "
                svg += "height=\"\(decimal(frameHeight - 1))\" rx=\"2\" fill=\"\(FlameColor.fill(for: node.name, kind: node.kind))\"/>"
                svg += "<text x=\"\(decimal(x + 3))\" y=\"\(decimal(y + frameHeight - 4.5))\">"
                svg += XMLEscape.escape(label(node.name, width: frameWidth))
                svg += "</text></g>\n"
            }
            svg += "</g>\n"
            svg += FlameGraphScript.element(plotLeft: sidePadding, plotWidth: plotWidth,
                                            characterWidth: characterWidth)
        }
        svg += "</svg>\n"
        return svg
    }

    /// The name cut to what fits in a box `width` wide: whole, or its start and "..", or nothing.
    static func label(_ name: String, width: Double) -> String {
        let fitting = Int(((width - 6) / characterWidth).rounded(.down))
        if fitting < 3 { return "" }
        if name.count <= fitting { return name }
        return String(name.prefix(fitting - 2)) + ".."
    }

    private static func summary(_ profile: Profile, layout: FlameGraphLayout) -> String {
        let samples = layout.totalSamples
        var parts = ["\(samples) \(samples == 1 ? "sample" : "samples")"]
        if profile.duration > 0 { parts.append("over \(decimal(profile.duration)) s") }
        if let rate = profile.achievedRate ?? profile.requestedRate { parts.append("at \(decimal(rate)) Hz") }
        if profile.droppedSamples > 0 { parts.append("\(profile.droppedSamples) dropped") }
        if let source = profile.source { parts.append(source) }
        if let cut = layout.cutAtSamples {
            parts.append("frames of \(decimal(Double(cut) * plotWidth / Double(samples))) px and narrower left out")
        }
        return parts.joined(separator: " · ")
    }

    /// `part / whole` in percent with two decimals.
    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "0.00" }
        let hundredths = (Double(part) * 10_000 / Double(whole)).rounded()
        return decimal(hundredths / 100)
    }

    /// A number with at most two decimals, without Foundation's formatters.
    static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let hundredths = Int((value * 100).rounded())
        let sign = hundredths < 0 ? "-" : ""
        let magnitude = hundredths.magnitude
        let fraction = magnitude % 100
        if fraction == 0 { return sign + String(magnitude / 100) }
        return sign + String(magnitude / 100) + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }
}
