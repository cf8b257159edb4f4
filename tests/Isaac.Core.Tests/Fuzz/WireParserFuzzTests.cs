using System.Diagnostics;
using System.Text;
using System.Text.Json;
using CsCheck;
using Isaac.Core.Tests.Security;
using Isaac.Core.Tests.Support;
using Isaac.Core.Wire;

namespace Isaac.Core.Tests.Fuzz;

/// <summary>
/// The hub's and the agents' message parsers, fed directly: every input is a record (then checked) or a
/// <see cref="JsonException"/> with a plain reason; never another exception, never a stack overflow, never slow.
/// </summary>
public sealed class WireParserFuzzTests
{
    private const int Seconds = 3;

    private static void AssertPlain(JsonException ex, string json)
    {
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        PlainText.AssertNoInternals(ex.Message, json);
    }

    // Either a record that the record's own check judges (fine or a reason), or a plain refusal; anything else fails.
    private static void ReadOrRefuse<T>(string json, Func<T?, string?> check)
    {
        try
        {
            var record = WireJson.Deserialize<T>(Encoding.UTF8.GetBytes(json));
            if (record is not null)
            {
                check(record);
            }
        }
        catch (JsonException ex)
        {
            AssertPlain(ex, json);
        }
    }

    [Fact]
    public void Any_agent_message_is_a_checked_record_or_a_plain_refusal_at_the_hub()
    {
        HostileJson.Around(HostileJson.AgentMessage).Sample(json =>
        {
            try
            {
                var message = AgentChannel.Parse(Encoding.UTF8.GetBytes(json));
                if (WireCheck.FromAgent(message) is { } problem)
                {
                    Assert.False(string.IsNullOrWhiteSpace(problem));
                }
            }
            catch (JsonException ex)
            {
                AssertPlain(ex, json);
            }
        }, time: Seconds);
    }

    [Fact]
    public void Any_hub_message_is_a_record_or_a_plain_refusal_at_the_agent()
    {
        HostileJson.Around(HostileJson.HubMessage).Sample(json =>
        {
            try
            {
                _ = AgentChannel.Parse(Encoding.UTF8.GetBytes(json));
            }
            catch (JsonException ex)
            {
                AssertPlain(ex, json);
            }
        }, time: Seconds);
    }

    [Fact]
    public void Any_request_body_is_a_checked_record_or_a_plain_refusal()
    {
        HostileJson.Around(HostileJson.Route).Sample(json =>
        {
            ReadOrRefuse<RouteBody>(json, body => WireCheck.Route(body, 8192));
            ReadOrRefuse<MetaBody>(json, WireCheck.Meta);
            ReadOrRefuse<HistoryEntry>(json, entry => WireCheck.History(entry, 8192));
        }, time: Seconds);
        HostileJson.Around(HostileJson.Batch).Sample(json =>
            ReadOrRefuse<RouteBody?[]>(json, bodies => string.Concat(bodies!.Select(b => WireCheck.Route(b, 8192)))), time: Seconds);
    }

    [Fact]
    public void Any_hub_answer_is_a_checked_record_or_a_plain_refusal_at_the_client()
    {
        HostileJson.Around(HostileJson.Route).Sample(json =>
        {
            ReadOrRefuse<CommandRecord>(json, WireCheck.Record);
            ReadOrRefuse<CommandRecord?[]>(json, records => string.Concat(records!.Select(WireCheck.Record)));
            ReadOrRefuse<DeviceRecord?[]>(json, _ => null);
        }, time: Seconds);
    }

    [Fact]
    public void A_megabyte_of_nesting_is_refused_at_the_depth_limit_in_milliseconds_and_kilobytes()
    {
        // Arrange
        var deep = Encoding.UTF8.GetBytes("""{"type":"ping","x":""" + new string('[', 1_000_000) + new string(']', 1_000_000) + "}");
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();

        // Act
        var ex = Assert.Throws<JsonException>(() => AgentChannel.Parse(deep));

        // Assert
        Assert.True(clock.ElapsedMilliseconds < 1000, $"{clock.ElapsedMilliseconds} ms");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1024 * 1024, "more than 1 MiB allocated");
        Assert.Contains($"maximum configured depth of {WireJson.MaxDepth}", ex.Message, StringComparison.Ordinal);
    }
}
