using System.Data;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Isaac.Core.Wire;
using Isaac.Plugins;

namespace Isaac.Hub.Internal;

/// <summary>What both engines share: rows read back as records, token hashing, timestamps, and how a report moves a command.</summary>
internal static class HubRows
{
    /// <summary>Both engines keep the same columns (times as ISO 8601 text), so one reader serves both.</summary>
    public static CommandRecord Command(IDataRecord reader)
    {
        var result = reader["result"] as string;
        return new CommandRecord
        {
            Id = (string)reader["id"],
            Sender = (string)reader["sender"],
            Target = (string)reader["target"],
            Text = (string)reader["text"],
            UniqueKey = (string)reader["unique_key"],
            Status = (string)reader["status"],
            Result = result is null ? null : JsonSerializer.Deserialize(result, HubJson.Default.CommandResponse) is { } stored ? HubStore.Normalize(stored) : null,
            Seq = reader["seq"] is DBNull ? 0 : Convert.ToInt64(reader["seq"], CultureInfo.InvariantCulture),
            Parallel = reader["parallel"] is not DBNull && Convert.ToInt64(reader["parallel"], CultureInfo.InvariantCulture) != 0,
            Error = reader["error"] as string,
            Phase = reader["phase"] as string,
            CreatedAt = Time((string)reader["created_at"]),
            UpdatedAt = Time((string)reader["updated_at"]),
        };
    }

    /// <summary>One row of the devices query: name, last_seen, queued, in flight, tasks, oldest task's phase start.</summary>
    public static DeviceRecord Device(IDataRecord reader) => new()
    {
        Name = reader.GetString(0),
        LastSeen = reader.IsDBNull(1) ? null : Time(reader.GetString(1)),
        Queued = Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture),
        InFlight = Convert.ToInt32(reader.GetValue(3), CultureInfo.InvariantCulture),
        Tasks = Convert.ToInt32(reader.GetValue(4), CultureInfo.InvariantCulture),
        OldestTaskSince = reader.IsDBNull(5) ? null : Time(reader.GetString(5)),
    };

    public static HistoryEntry History(IDataRecord reader) =>
        new() { Device = reader.GetString(0), Text = reader.GetString(1), At = Time(reader.GetString(2)) };

    public const string DevicesSql = """
        SELECT d.name, d.last_seen,
               (SELECT COUNT(*) FROM commands c WHERE c.target = d.name AND c.status IN ('accepted', 'assigned')),
               (SELECT COUNT(*) FROM commands c WHERE c.target = d.name AND c.status IN ('device_accepted', 'running')),
               (SELECT COUNT(*) FROM commands c WHERE c.target = d.name AND c.status = 'running' AND c.phase IS NOT NULL),
               (SELECT MIN(c.updated_at) FROM commands c WHERE c.target = d.name AND c.status = 'running' AND c.phase IS NOT NULL)
        FROM devices d ORDER BY d.name;
        """;

    /// <summary>
    /// Moves a command on, never back, and never out of a final state (both engines, same statement but for parameter
    /// marks). A task's phase is kept while it runs (a phase-less "running" repeat does not clear it) and cleared at its end;
    /// a repeat that changes nothing (an agent saying again where it is) keeps <c>updated_at</c>, the start of the phase.
    /// </summary>
    public static string AdvanceSql(char mark) => $"""
        UPDATE commands SET status = {mark}status, result = COALESCE({mark}result, result), error = COALESCE({mark}error, error),
            phase = CASE WHEN {mark}status = 'running' THEN COALESCE({mark}phase, phase) END,
            updated_at = CASE WHEN status = {mark}status AND (({mark}phase IS NULL AND {mark}result IS NULL) OR phase = {mark}phase) THEN updated_at ELSE {mark}now END
        WHERE id = {mark}id AND target = {mark}target AND status NOT IN ('completed', 'failed', 'rejected', 'in_doubt')
          AND (CASE status WHEN 'accepted' THEN 0 WHEN 'assigned' THEN 1 WHEN 'device_accepted' THEN 2 WHEN 'running' THEN 3 ELSE 4 END)
           <= (CASE {mark}status WHEN 'accepted' THEN 0 WHEN 'assigned' THEN 1 WHEN 'device_accepted' THEN 2 WHEN 'running' THEN 3 ELSE 4 END);
        """;

    /// <summary>Puts a command the device turned away as busy back to waiting at the hub.</summary>
    public static string RequeueSql(char mark) => $"""
        UPDATE commands SET status = 'accepted', updated_at = {mark}now
        WHERE id = {mark}id AND target = {mark}target AND status IN ('assigned', 'device_accepted');
        """;

    /// <summary>
    /// Applies reports in order through the engine's own statements: a rejection whose reason starts with "busy"
    /// puts the command back to waiting; everything else moves it on. Returns the ids whose record changed.
    /// </summary>
    public static List<string> Apply(IReadOnlyList<AgentMessage> reports, Func<string, bool> requeue, Func<string, string, CommandResponse?, string?, string?, bool> advance)
    {
        var changed = new List<string>();
        foreach (var report in reports)
        {
            var id = report.Id ?? "";
            var moved = report switch
            {
                { Type: "rejected", Reason: { } reason } when HubStore.IsBusy(reason) => requeue(id),
                { Type: "accepted" } => advance(id, RoutedStatus.DeviceAccepted, null, null, null),
                { Type: "running" } => advance(id, RoutedStatus.Running, null, null, TaskPhase.IsKnown(report.Phase) ? report.Phase : null),
                { Type: "rejected" } => advance(id, RoutedStatus.Rejected, null, report.Reason ?? "rejected by the device", null),
                { Type: "completed" } => advance(id, RoutedStatus.Completed, report.Result ?? new CommandResponse(), null, null),
                { Type: "failed" } => advance(id, RoutedStatus.Failed, report.Result, report.Reason ?? "failed on the device", null),
                { Type: "in_doubt" } => advance(id, RoutedStatus.InDoubt, null, report.Reason ?? "interrupted while running; it may or may not have had its effect", null),
                _ => false,
            };
            if (moved)
            {
                changed.Add(id);
            }
        }

        return changed;
    }

    public static string? ResultJson(CommandResponse? result) =>
        result is null ? null : JsonSerializer.Serialize(HubStore.Normalize(result), HubJson.Default.CommandResponse);

    public static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string NewToken() =>
        "isk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Now(TimeProvider time) => time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);

    public static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
}
