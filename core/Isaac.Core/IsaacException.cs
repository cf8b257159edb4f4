namespace Isaac.Core;

/// <summary>Base of the errors Isaac reports to a person; the message says what to do next.</summary>
public abstract class IsaacException(string message, Exception? inner = null) : Exception(message, inner);
