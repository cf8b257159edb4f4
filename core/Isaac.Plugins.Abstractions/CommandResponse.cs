using System.Text.Json.Serialization;

namespace Isaac.Plugins;

/// <summary>What every handler returns; fields a version-1 script omits take these defaults.</summary>
public sealed record CommandResponse
{
    /// <summary>The envelope protocol version the handler speaks; see <see cref="Protocol.Version"/>.</summary>
    [JsonPropertyName("protocol_version")]
    public int ProtocolVersion { get; init; } = Protocol.Version;

    /// <summary><c>success</c> or <c>error</c>.</summary>
    [JsonPropertyName("status")]
    public string Status { get; init; } = ResponseStatus.Success;

    /// <summary>Text for the user.</summary>
    [JsonPropertyName("stdout")]
    public string Stdout { get; init; } = "";

    /// <summary>Error text for the user.</summary>
    [JsonPropertyName("stderr")]
    public string Stderr { get; init; } = "";

    /// <summary>How to present the response: <c>text</c> (the default), <c>json</c>, or <c>confirm</c> (ask the person <see cref="Stdout"/> and, on yes, run the line in meta <c>confirm</c>).</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; init; } = "text";

    /// <summary>Free-form facts for programs that read <c>--json</c> output.</summary>
    [JsonPropertyName("meta")]
    public IReadOnlyDictionary<string, string> Meta { get; init; } = new Dictionary<string, string>();

    /// <summary>A table to show after <see cref="Stdout"/>, rendered by the host.</summary>
    [JsonPropertyName("table")]
    public ResponseTable? Table { get; init; }

    /// <summary>The exit status the shell reports for this command; 0 means success.</summary>
    [JsonPropertyName("exit_code")]
    public int? ExitCode { get; init; }

    /// <summary>A successful response with the given text.</summary>
    public static CommandResponse Ok(string stdout) => new() { Stdout = stdout };

    /// <summary>A failed response with the given error text.</summary>
    public static CommandResponse Fail(string stderr, int exitCode = 1) =>
        new() { Status = ResponseStatus.Error, Stderr = stderr, ExitCode = exitCode };
}
