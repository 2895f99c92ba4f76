extension Int {
    /// `self + other`, held at `Int.max` (or `Int.min`) instead of overflowing: counts read from a file or a
    /// peer can be anything, and a sum of them must not trap.
    @inlinable
    package func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other < 0 ? Int.min : Int.max) : sum
    }
}
