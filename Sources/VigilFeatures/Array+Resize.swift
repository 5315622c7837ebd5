extension Array where Element == Double {
    /// Makes the array `count` long, keeping its capacity; new elements are zero.
    mutating func resize(to count: Int) {
        if self.count > count {
            removeLast(self.count - count)
        } else if self.count < count {
            append(contentsOf: repeatElement(0, count: count - self.count))
        }
    }
}
