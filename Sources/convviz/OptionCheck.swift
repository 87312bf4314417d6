import ArgumentParser

/// The checks several options share, each with its one message.
enum OptionCheck {
  /// Throws "FLAG REASON" for the first option of `options` that was
  /// given: options that do not apply together with another choice.
  static func refuse(_ options: KeyValuePairs<String, Bool>, _ reason: String) throws {
    if let flag = options.first(where: \.value)?.key {
      throw ValidationError("\(flag) \(reason)")
    }
  }

  /// Throws unless `value` (when given) is finite and above 0.
  static func positive<Value: BinaryFloatingPoint>(_ value: Value?, _ flag: String) throws {
    if let value, !(value.isFinite && value > 0) {
      throw ValidationError("\(flag) must be a finite number above 0")
    }
  }

  /// Throws unless `value` (when given) is in [0, 1).
  static func fraction<Value: BinaryFloatingPoint>(_ value: Value?, _ flag: String) throws {
    if let value, !(value >= 0 && value < 1) {
      throw ValidationError("\(flag) must be in [0, 1)")
    }
  }
}
