/// A dictionary whose changes since ``mark()`` can be taken back: once marked, it keeps the value
/// each key had before its first change. The reminder machine undoes an answer that could not be
/// saved this way, at the cost of the keys the answer touched; copying the machine to restore it
/// would copy every record it holds, at every answer.
public struct UndoableDictionary<Key: Hashable & Sendable, Value: Sendable>: Sendable, Sequence {
    public private(set) var contents: [Key: Value]
    /// Since the mark: each changed key's value before its first change (nil: it had none).
    private var before: [Key: Value?]?

    public init(_ contents: [Key: Value] = [:]) {
        self.contents = contents
    }

    public subscript(key: Key) -> Value? {
        get { contents[key] }
        set {
            remember(key)
            contents[key] = newValue
        }
    }

    public subscript(key: Key, default value: @autoclosure () -> Value) -> Value {
        get { contents[key] ?? value() }
        set {
            remember(key)
            contents[key] = newValue
        }
    }

    public var values: Dictionary<Key, Value>.Values { contents.values }
    public func makeIterator() -> Dictionary<Key, Value>.Iterator { contents.makeIterator() }

    public mutating func removeAll(where shouldRemove: (Key, Value) -> Bool) {
        // The keys first: removing while iterating `contents` would copy all of it.
        let doomed = contents.compactMap { shouldRemove($0.key, $0.value) ? $0.key : nil }
        for key in doomed { self[key] = nil }
    }

    /// Whether changes are remembered (since ``mark()``, until ``end(keeping:)``).
    public var isMarked: Bool { before != nil }

    /// From now on, remembers what changes so that ``end(keeping:)`` can take it back.
    public mutating func mark() {
        before = [:]
    }

    /// Keeps the changes since the mark, or takes them all back; forgets the mark.
    public mutating func end(keeping keep: Bool) {
        if !keep {
            for (key, value) in before ?? [:] { contents[key] = value }
        }
        before = nil
    }

    private mutating func remember(_ key: Key) {
        guard before != nil, before?.index(forKey: key) == nil else { return }
        before?[key] = .some(contents[key])
    }
}

extension UndoableDictionary: Equatable where Value: Equatable {
    /// Equal contents (what is remembered for an undo does not count).
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.contents == rhs.contents }
}
