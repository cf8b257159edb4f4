using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;

namespace Isaac.Core.Wire;

/// <summary>
/// The agent WebSocket as a channel of <see cref="AgentMessage"/>s, one JSON text message each; used by both
/// ends. Sends are serialized (a WebSocket allows one send at a time); receiving belongs to one loop.
/// </summary>
public sealed class AgentChannel(WebSocket socket, int maxMessageBytes = 4 * 1024 * 1024)
{
    private readonly SemaphoreSlim _sending = new(1, 1);

    public async Task SendAsync(AgentMessage message, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(message, HubJson.Default.AgentMessage);
        await _sending.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>The next message, or null when the other end closed (or sent more than the limit, which closes it).</summary>
    public async Task<AgentMessage?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(16 * 1024), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (socket.State == WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
                }

                return null;
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > maxMessageBytes)
            {
                await socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, $"messages are limited to {maxMessageBytes} bytes", cancellationToken).ConfigureAwait(false);
                return null;
            }

            if (result.EndOfMessage)
            {
                return Parse(buffer.WrittenSpan);
            }
        }
    }

    /// <summary>
    /// One received message as a record. Any other input, however hostile (not JSON, not UTF-8, too
    /// deep, wrong types), is a <see cref="JsonException"/> with a plain reason; the socket stays at a message
    /// boundary. Whether the record makes sense is the receiver's check (<see cref="WireCheck.FromAgent"/> at the hub).
    /// </summary>
    public static AgentMessage Parse(ReadOnlySpan<byte> json) =>
        WireJson.Deserialize<AgentMessage>(json) ?? throw new JsonException("the message is JSON null; expected a JSON object with a 'type'");

    public void Abort() => socket.Abort();
}
