// ResNet and MobileNetV2 layouts (He et al. 2016; Sandler et al. 2018), CIFAR variants.
#include "models/spec/graph_layout.h"

#include <algorithm>
#include <map>

#include "common/error.h"
#include "models/spec/vgg_layout.h"

namespace triseg::models {

namespace {

struct Builder {
    std::vector<LayoutOp> ops;
    std::map<std::string, int64_t> channels{{"input", 0}};

    std::string conv(const std::string& name,
                     const std::string& in,
                     int64_t out,
                     int64_t kernel,
                     int64_t stride,
                     int64_t groups,
                     LayoutAct act) {
        LayoutOp op;
        op.kind = LayoutOp::Kind::Conv;
        op.name = name;
        op.inputs = {in};
        op.in_channels = channels.at(in);
        op.out_channels = out;
        op.kernel = kernel;
        op.stride = stride;
        op.padding = kernel / 2;
        op.groups = groups;
        op.act = act;
        ops.push_back(op);
        channels[name] = out;
        return name;
    }

    std::string
    add(const std::string& name, const std::string& a, const std::string& b, LayoutAct act) {
        LayoutOp op;
        op.kind = LayoutOp::Kind::Add;
        op.name = name;
        op.inputs = {a, b};
        op.in_channels = channels.at(a);
        op.out_channels = channels.at(a);
        op.act = act;
        ops.push_back(op);
        channels[name] = op.out_channels;
        return name;
    }

    void head(const std::string& in, int64_t classes) {
        LayoutOp gap;
        gap.kind = LayoutOp::Kind::GlobalAvgPool;
        gap.name = "gap";
        gap.inputs = {in};
        gap.in_channels = gap.out_channels = channels.at(in);
        ops.push_back(gap);
        channels["gap"] = gap.out_channels;
        LayoutOp fc;
        fc.kind = LayoutOp::Kind::Linear;
        fc.name = "fc";
        fc.inputs = {"gap"};
        fc.in_channels = gap.out_channels;
        fc.out_channels = classes;
        ops.push_back(fc);
    }
};

void resnet(Builder& b,
            const ModelOptions& o,
            int64_t stem,
            const std::vector<int64_t>& widths,
            const std::vector<int64_t>& blocks,
            const std::vector<int64_t>& strides) {
    std::string x = b.conv("conv1", "input", scaled_width(stem, o.width), 3, 1, 1, LayoutAct::Relu);
    for (size_t s = 0; s < widths.size(); ++s) {
        const int64_t c = scaled_width(widths[s], o.width);
        for (int64_t k = 0; k < blocks[s]; ++k) {
            const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(k) + ".";
            const int64_t stride = k == 0 ? strides[s] : 1;
            const std::string c1 = b.conv(p + "conv1", x, c, 3, stride, 1, LayoutAct::Relu);
            const std::string c2 = b.conv(p + "conv2", c1, c, 3, 1, 1, LayoutAct::None);
            std::string skip = x;
            if (stride != 1 || b.channels.at(x) != c) {
                skip = b.conv(p + "shortcut", x, c, 1, stride, 1, LayoutAct::None);
            }
            x = b.add(p + "out", c2, skip, LayoutAct::Relu);
        }
    }
    b.head(x, o.num_classes);
}

void mobilenet_v2(Builder& b, const ModelOptions& o) {
    struct Stage {
        int64_t t, c, n, s;
    };
    const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 1},  {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    std::string x =
        b.conv("features.0", "input", scaled_width(32, o.width), 3, 1, 1, LayoutAct::Relu6);
    int index = 1;
    for (const Stage& st : stages) {
        const int64_t out = scaled_width(st.c, o.width);
        for (int64_t k = 0; k < st.n; ++k, ++index) {
            const std::string p = "features." + std::to_string(index) + ".";
            const int64_t stride = k == 0 ? st.s : 1;
            const int64_t in = b.channels.at(x);
            const int64_t hidden = in * st.t;
            std::string h = x;
            if (st.t != 1) {
                h = b.conv(p + "expand", x, hidden, 1, 1, 1, LayoutAct::Relu6);
            }
            h = b.conv(p + "dw", h, hidden, 3, stride, hidden, LayoutAct::Relu6);
            h = b.conv(p + "project", h, out, 1, 1, 1, LayoutAct::None);
            x = stride == 1 && in == out ? b.add(p + "add", x, h, LayoutAct::None) : h;
        }
    }
    const int64_t last = o.width > 1.0 ? scaled_width(1280, o.width) : 1280;
    x = b.conv("features." + std::to_string(index), x, last, 1, 1, 1, LayoutAct::Relu6);
    b.head(x, o.num_classes);
}

} // namespace

std::vector<LayoutOp> graph_layout(const ModelOptions& opts) {
    Builder b;
    b.channels["input"] = opts.in_channels;
    switch (opts.arch) {
    case ModelArch::ResNet20:
    case ModelArch::ResNet32:
    case ModelArch::ResNet56: {
        const int64_t depth = opts.arch == ModelArch::ResNet20   ? 20
                              : opts.arch == ModelArch::ResNet32 ? 32
                                                                 : 56;
        const int64_t n = (depth - 2) / 6;
        resnet(b, opts, 16, {16, 32, 64}, {n, n, n}, {1, 2, 2});
        break;
    }
    case ModelArch::ResNet18:
        resnet(b, opts, 64, {64, 128, 256, 512}, {2, 2, 2, 2}, {1, 2, 2, 2});
        break;
    case ModelArch::MobileNetV2:
        mobilenet_v2(b, opts);
        break;
    default:
        TRISEG_THROW(ConfigError, "`model.arch` " << arch_name(opts.arch)
                                                  << " is a VGG chain, not a graph layout");
    }
    return b.ops;
}

std::vector<int64_t> layout_sides(const std::vector<LayoutOp>& layout, int64_t side) {
    std::map<std::string, int64_t> sides{{"input", side}};
    std::vector<int64_t> out;
    for (const LayoutOp& op : layout) {
        const int64_t in = sides.at(op.inputs.at(0));
        int64_t s = in;
        if (op.kind == LayoutOp::Kind::Conv) {
            s = (in + 2 * op.padding - op.kernel) / op.stride + 1;
        } else if (op.kind != LayoutOp::Kind::Add) {
            s = 1;
        }
        sides[op.name] = s;
        out.push_back(s);
    }
    return out;
}

} // namespace triseg::models
