using Isaac.Core.Dispatch;
using Isaac.Core.Manifests;

namespace Isaac.Core.Execution;

/// <summary>A handler that did not produce a usable response. Every message is built here.</summary>
internal sealed class HandlerException : IsaacException
{
    private HandlerException(string command, ErrorCode failure, string message, Exception? inner = null)
        : base(message, inner)
    {
        Command = command;
        Failure = failure;
    }

    public string Command { get; }
    public ErrorCode Failure { get; }

    /// <summary>What the handler had written before it was stopped (for OUTPUT_TRUNCATED).</summary>
    public string PartialStdout { get; private init; } = "";

    public int? ExitCode { get; private init; }

    internal static HandlerException TimedOut(LoadedCommand command, string what) => new(command.Name, ErrorCode.Timeout,
        $"Command '{command.Name}' timed out after {command.Manifest.Runtime.TimeoutMs} ms; {what}. " +
        $"Raise runtime.timeout_ms in {command.ManifestPath} if it needs longer.");

    internal static HandlerException Truncated(LoadedCommand command, string kept, string what) => new(command.Name, ErrorCode.OutputTruncated,
        $"Command '{command.Name}' wrote more than {command.Manifest.Security.Resources.MaxStdoutKib} KiB to stdout; {what}. " +
        $"The first {kept.Length} characters are shown. Raise security.resources.max_stdout_kib in {command.ManifestPath} if it needs more.")
    {
        PartialStdout = kept,
    };

    internal static HandlerException Exited(LoadedCommand command, int exitCode, string stderr) => new(command.Name, ErrorCode.HandlerFailed,
        $"Command '{command.Name}' failed: its handler exited with code {exitCode} without a JSON response.{Tail(stderr)}")
    {
        ExitCode = exitCode,
    };

    internal static HandlerException NoResponse(LoadedCommand command, string stderr) => new(command.Name, ErrorCode.ProtocolError,
        $"Command '{command.Name}' printed nothing on stdout; a handler must print one JSON response such as {{\"status\": \"success\", \"stdout\": \"...\"}}. See docs/protocol.md.{Tail(stderr)}");

    internal static HandlerException BadResponse(LoadedCommand command, string problem, string stdout) => new(command.Name, ErrorCode.ProtocolError,
        $"Command '{command.Name}' printed an invalid response: {problem}. It began: {Quote(stdout)}. See docs/protocol.md.");

    internal static HandlerException NewerProtocol(LoadedCommand command, int version) => new(command.Name, ErrorCode.ProtocolError,
        $"Command '{command.Name}' answered with protocol version {version}, but this Isaac speaks version {Isaac.Plugins.Protocol.Version}. Update Isaac or pin the handler to version {Isaac.Plugins.Protocol.Version}.");

    internal static HandlerException CannotStart(LoadedCommand command, string program, Exception inner) => new(command.Name, ErrorCode.HandlerFailed,
        command.Manifest.Runtime.Interpreter is { } interpreter
            ? $"Command '{command.Name}' could not start: interpreter '{interpreter}' was not found on PATH or is not executable ({inner.Message}). Install it or change runtime.interpreter in {command.ManifestPath}."
            : $"Command '{command.Name}' could not start '{program}' ({inner.Message}). Make it executable (chmod +x) or set runtime.interpreter in {command.ManifestPath}.",
        inner);

    internal static HandlerException Refused(LoadedCommand command, string reason) => new(command.Name, ErrorCode.HandlerFailed,
        $"Command '{command.Name}' was not started: {reason}. Check it with 'isaac validate {command.ManifestPath}'.");

    // The host's own errors (a store that cannot be written, …) are already worded for the person.
    internal static HandlerException PluginThrew(LoadedCommand command, Exception inner) => new(command.Name, ErrorCode.HandlerFailed,
        inner is IsaacException ? inner.Message : $"Command '{command.Name}' failed: its plugin threw {inner.GetType().Name}: {inner.Message}", inner);

    internal static HandlerException PluginReturnedNull(LoadedCommand command) => new(command.Name, ErrorCode.ProtocolError,
        $"Command '{command.Name}' failed: its plugin returned no response.");

    private static string Tail(string stderr) =>
        string.IsNullOrWhiteSpace(stderr) ? "" : $" Its stderr ended with: {Quote(stderr[Math.Max(0, stderr.Length - 400)..])}";

    private static string Quote(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= 200 ? $"'{trimmed}'" : $"'{trimmed[..200]}…'";
    }
}
