namespace Isaac.Cli;

/// <summary>How much Isaac says besides what was asked of it (<c>-q</c>, <c>-v</c>).</summary>
internal enum Verbosity
{
    /// <summary><c>-q</c>: no banners or hints, and only warnings and errors from the log on the console.</summary>
    Quiet,

    /// <summary>Banners and hints; <c>isaac hub</c> and <c>isaac agent</c> show their log from Information up.</summary>
    Normal,

    /// <summary><c>-v</c>: every command shows its log on stderr, from Debug up (the log file too).</summary>
    Verbose,
}
