/*
 * ConnectJudge.java — Kafka Connect's own JsonConverter and Debezium's
 * ExtractNewRecordState as the judge of sluice's Kafka messages: a consumer
 * written for Debezium reads them through exactly these classes.
 *
 * One JVM serves a whole test module (tests/e2e/connect_judge.py starts it
 * with the jars tests/services/connect_judge.sh fetches). Protocol: one JSON
 * object per input line {"topic", "key", "value"} (message texts or null),
 * one JSON object per output line with what the converters decoded:
 *   key_off/value_off  JsonConverter with schemas.enable=false
 *   key_on/value_on    JsonConverter with schemas.enable=true (only for a
 *                      {"schema", "payload"} message)
 *   flat               ExtractNewRecordState's value (only for an envelope
 *                      with a schema; null when it drops the record)
 *   error              the first exception, "step: message"
 * Decoded Connect values are written as JSON: structs as objects (every
 * schema field), bytes as base64, Decimal as its plain text, floats widened
 * to double exactly.
 */
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.debezium.transforms.ExtractNewRecordState;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;

public class ConnectJudge {
    static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final ObjectMapper M = new ObjectMapper();

    static JsonConverter converter(boolean schemas, boolean isKey) {
        JsonConverter c = new JsonConverter();
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("schemas.enable", Boolean.toString(schemas));
        c.configure(cfg, isKey);
        return c;
    }

    static JsonNode json(Object v) {
        if (v == null) return F.nullNode();
        if (v instanceof Struct s) {
            ObjectNode o = F.objectNode();
            for (Field f : s.schema().fields()) o.set(f.name(), json(s.get(f)));
            return o;
        }
        if (v instanceof List<?> l) {
            ArrayNode a = F.arrayNode();
            for (Object x : l) a.add(json(x));
            return a;
        }
        if (v instanceof Map<?, ?> m) {
            ObjectNode o = F.objectNode();
            for (Map.Entry<?, ?> e : m.entrySet()) o.set(String.valueOf(e.getKey()), json(e.getValue()));
            return o;
        }
        if (v instanceof byte[] b) return F.textNode(Base64.getEncoder().encodeToString(b));
        if (v instanceof ByteBuffer bb) {
            byte[] b = new byte[bb.remaining()];
            bb.duplicate().get(b);
            return F.textNode(Base64.getEncoder().encodeToString(b));
        }
        if (v instanceof BigDecimal d) return F.textNode(d.toPlainString());
        if (v instanceof BigInteger i) return F.numberNode(i);
        if (v instanceof Float f) return Float.isFinite(f) ? F.numberNode((double) f) : F.textNode(f.toString());
        if (v instanceof Double d) return Double.isFinite(d) ? F.numberNode(d) : F.textNode(d.toString());
        if (v instanceof Long l) return F.numberNode(l);
        if (v instanceof Integer i) return F.numberNode(i);
        if (v instanceof Short s) return F.numberNode(s);
        if (v instanceof Byte b) return F.numberNode(b);
        if (v instanceof Boolean b) return F.booleanNode(b);
        if (v instanceof java.util.Date d) return F.numberNode(d.getTime());
        return F.textNode(v.toString());
    }

    /* the parsed text, or null when it is not JSON */
    static JsonNode parse(String text) {
        if (text == null) return null;
        try {
            return M.readTree(text);
        } catch (Exception e) {
            return null;
        }
    }

    static boolean wrapped(JsonNode n) {
        return n != null && n.isObject() && n.size() == 2 && n.has("schema") && n.has("payload");
    }

    public static void main(String[] args) throws Exception {
        JsonConverter keyOff = converter(false, true), keyOn = converter(true, true);
        JsonConverter valOff = converter(false, false), valOn = converter(true, false);
        ExtractNewRecordState<SourceRecord> flatten = new ExtractNewRecordState<>();
        flatten.configure(new HashMap<>());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null) {
            JsonNode req = M.readTree(line);
            String topic = req.path("topic").asText();
            String key = req.path("key").isNull() ? null : req.path("key").asText();
            String value = req.path("value").isNull() ? null : req.path("value").asText();
            ObjectNode res = F.objectNode();
            String step = "key (schemas off)";
            try {
                SchemaAndValue kOn = null, vOn = null;
                JsonNode kn = parse(key), vn = parse(value);
                if (kn != null) {
                    res.set("key_off", json(keyOff.toConnectData(topic, key.getBytes(StandardCharsets.UTF_8)).value()));
                    if (wrapped(kn)) {
                        step = "key (schemas on)";
                        kOn = keyOn.toConnectData(topic, key.getBytes(StandardCharsets.UTF_8));
                        res.set("key_on", json(kOn.value()));
                    }
                }
                if (vn != null) {
                    step = "value (schemas off)";
                    res.set("value_off", json(valOff.toConnectData(topic, value.getBytes(StandardCharsets.UTF_8)).value()));
                    if (wrapped(vn)) {
                        step = "value (schemas on)";
                        vOn = valOn.toConnectData(topic, value.getBytes(StandardCharsets.UTF_8));
                        res.set("value_on", json(vOn.value()));
                        Schema vs = vOn.schema();
                        if (vs != null && vs.type() == Schema.Type.STRUCT && vs.field("op") != null
                                && vs.field("after") != null) {
                            step = "ExtractNewRecordState";
                            SourceRecord r = new SourceRecord(null, null, topic, 0, kOn == null ? null : kOn.schema(),
                                    kOn == null ? null : kOn.value(), vs, vOn.value());
                            SourceRecord flat = flatten.apply(r);
                            res.set("flat", flat == null ? F.nullNode() : json(flat.value()));
                            res.put("flat_dropped", flat == null);
                        }
                    }
                }
            } catch (Exception e) {
                res.put("error", step + ": " + e);
            }
            out.println(M.writeValueAsString(res));
            out.flush();
        }
    }
}
