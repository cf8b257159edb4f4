using System.Text.Json.Serialization;

namespace Isaac.Core.Dispatch;

/// <summary>Why a command did not succeed; the JSON names are stable for scripts.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ErrorCode>))]
public enum ErrorCode
{
    [JsonStringEnumMemberName("TIMEOUT")] Timeout,
    [JsonStringEnumMemberName("OUTPUT_TRUNCATED")] OutputTruncated,
    [JsonStringEnumMemberName("PROTOCOL_ERROR")] ProtocolError,
    [JsonStringEnumMemberName("CANCELLED")] Cancelled,
    [JsonStringEnumMemberName("HANDLER_FAILED")] HandlerFailed,
    [JsonStringEnumMemberName("NOT_FOUND")] NotFound,
    [JsonStringEnumMemberName("DENIED")] Denied,
    [JsonStringEnumMemberName("BAD_ARGUMENTS")] BadArguments,
}

internal static class ErrorCodes
{
    /// <summary>The stable name, for example <c>TIMEOUT</c>.</summary>
    public static string ToWire(this ErrorCode code) =>
        System.Text.Json.JsonSerializer.Serialize(code, Internal.IsaacJson.Default.ErrorCode).Trim('"');

    /// <summary>The code named by its stable name (as a remote device reports it), if any.</summary>
    public static ErrorCode? FromWire(string? name) =>
        Enum.GetValues<ErrorCode>().Cast<ErrorCode?>().FirstOrDefault(code => code?.ToWire() == name);

    /// <summary>The process exit status <c>isaac -c</c> reports for an error without a handler exit code.</summary>
    public static int ExitStatus(this ErrorCode code) => code switch
    {
        ErrorCode.Timeout => 124,
        ErrorCode.Denied => 126,
        ErrorCode.NotFound => 127,
        ErrorCode.Cancelled => 130,
        ErrorCode.BadArguments => 2,
        _ => 1,
    };
}
