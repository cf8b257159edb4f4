using Isaac.Core.Devices;

namespace Isaac.Core.Wire;

/// <summary>
/// One check per wire record, applied where the record arrives from the other side (docs/hub-protocol.md, "Input
/// rules"). Each returns null when the record is fine, or one plain sentence that names the field at fault. The
/// JSON reader (<see cref="WireJson"/>) lets missing and null fields through so that these say what is wrong.
/// </summary>
public static class WireCheck
{
    /// <summary>Longest unique key, command id, device name or meta-command the hub accepts.</summary>
    public const int MaxKeyChars = 200;

    /// <summary>Most entries in a hello's <c>holding</c> list.</summary>
    public const int MaxHolding = 10_000;

    private static readonly string[] _agentTypes = ["hello", "ping", "accepted", "rejected", "running", "completed", "failed", "in_doubt", "report"];

    // What a report may carry: the single messages about one command.
    private static readonly string[] _reportTypes = ["accepted", "rejected", "running", "completed", "failed", "in_doubt"];

    /// <summary>A route (POST /v1/commands, and each entry of a batch).</summary>
    public static string? Route(RouteBody? body, int maxTextChars) =>
        body is null ? "the command is JSON null; expected an object {target, text, unique_key, parallel?}"
        : Key("target", body.Target)
        ?? (DeviceName.TryNormalize(body.Target, out _, out var badTarget) ? null : $"'target': {badTarget}")
        ?? Key("unique_key", body.UniqueKey)
        ?? Text("text", body.Text, maxTextChars);

    /// <summary>A hub meta-command (POST /v1/meta).</summary>
    public static string? Meta(MetaBody? body) =>
        body is null ? "the body is JSON null; expected an object {text}" : Key("text", body.Text);

    /// <summary>A shared history line (POST /v1/history); its device is the token's, so <c>device</c> is not read.</summary>
    public static string? History(HistoryEntry? entry, int maxTextChars) =>
        entry is null ? "the body is JSON null; expected an object {text}" : Text("text", entry.Text, maxTextChars);

    /// <summary>A message from an agent to the hub. Unknown fields are ignored; these are not.</summary>
    public static string? FromAgent(AgentMessage? message)
    {
        if (message is null)
        {
            return "the message is JSON null";
        }

        if ((string?)message.Type is not { } type)
        {
            return "the message has no 'type'";
        }

        if (!_agentTypes.Contains(type, StringComparer.Ordinal))
        {
            return $"unknown message type '{Clip(type)}'";
        }

        if (message.Text is not null || message.Sender is not null || message.Seq is not null || message.Parallel is not null)
        {
            return $"'{type}' carries assign-only fields (text, sender, seq, parallel)";
        }

        if (type == "report")
        {
            return Report(message.Reports);
        }

        if (message.Reports is not null)
        {
            return $"'{type}' carries 'reports', which only a 'report' may";
        }

        if (type is "hello" or "ping")
        {
            return message.Holding is { } holding && (holding.Count > MaxHolding || holding.Any(id => Key("holding[]", id) is not null))
                ? $"'holding' must list at most {MaxHolding} non-empty command ids of at most {MaxKeyChars} characters"
                : null;
        }

        return Key("id", message.Id) is { } bad ? $"'{type}' needs an id: {bad}" : null;
    }

    private static string? Report(IReadOnlyList<AgentMessage?>? reports)
    {
        if (reports is not { Count: > 0 and <= AgentProtocol.MaxBatch })
        {
            return $"'report' needs 'reports': 1 to {AgentProtocol.MaxBatch} messages";
        }

        for (var i = 0; i < reports.Count; i++)
        {
            if (reports[i] is not { } entry || (string?)entry.Type is not { } type || !_reportTypes.Contains(type, StringComparer.Ordinal))
            {
                return $"'reports[{i}]' must be one of {string.Join(", ", _reportTypes)}";
            }

            if (FromAgent(entry) is { } problem)
            {
                return $"'reports[{i}]': {problem}";
            }
        }

        return null;
    }

    /// <summary>A command record in one of the hub's answers.</summary>
    public static string? Record(CommandRecord? record) =>
        record is null ? "a record is JSON null"
        : (string?)record.Id is null ? "a record has no 'id'"
        : (string?)record.Status is null ? "a record has no 'status'"
        : (string?)record.Target is null || (string?)record.Text is null || (string?)record.Sender is null ? $"record '{Clip(record.Id)}' lacks its target, text or sender"
        : null;

    private static string? Key(string field, string? value) => Text(field, value, MaxKeyChars);

    private static string? Text(string field, string? value, int maxChars) =>
        string.IsNullOrWhiteSpace(value) ? $"'{field}' is required: a non-empty string of at most {maxChars} characters"
        : value.Length > maxChars ? $"'{field}' is limited to {maxChars} characters; this one has {value.Length}"
        : null;

    // What a client sent is echoed only in part: a refusal must stay one short line.
    private static string Clip(string value) => value.Length > 40 ? value[..40] + "…" : value;
}
