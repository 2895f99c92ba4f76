/// A binary max-heap: the flame-graph layout takes frames widest first, so that a budget of frames keeps the
/// ones that can be seen.
struct WidestFirstQueue<Element> {
    private var elements: [Element] = []
    /// True when the first argument should come out before the second.
    private let before: (Element, Element) -> Bool

    init(before: @escaping (Element, Element) -> Bool) {
        self.before = before
    }

    var isEmpty: Bool { elements.isEmpty }
    var first: Element? { elements.first }

    mutating func insert(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(elements[child], elements[parent]) else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> Element? {
        guard !elements.isEmpty else { return nil }
        elements.swapAt(0, elements.count - 1)
        let top = elements.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var chosen = parent
            if left < elements.count, before(elements[left], elements[chosen]) { chosen = left }
            if right < elements.count, before(elements[right], elements[chosen]) { chosen = right }
            if chosen == parent { break }
            elements.swapAt(parent, chosen)
            parent = chosen
        }
        return top
    }
}
