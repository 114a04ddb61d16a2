// The `model:` section's YAML form.
#include "io/model_yaml.h"

#include <yaml-cpp/yaml.h>

#include "common/error.h"

namespace triseg::io {

const detail::EnumNames<models::VggArch>& arch_names() {
    static const detail::EnumNames<models::VggArch> names = {{models::VggArch::Vgg11, "vgg11"},
                                                             {models::VggArch::Vgg16, "vgg16"}};
    return names;
}

std::string model_to_yaml(const models::VggOptions& model) {
    YAML::Emitter out;
    detail::MapWriter writer(out);
    models::VggOptions copy = model;
    out << YAML::BeginMap;
    visit_model_fields(writer, copy);
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

models::VggOptions model_from_yaml(const std::string& yaml_text, const std::string& source) {
    const detail::ConfigOrigin origin{source, {}};
    models::VggOptions model;
    detail::MapReader reader(detail::load_yaml(yaml_text, source), "model", origin);
    visit_model_fields(reader, model);
    reader.finish();
    try {
        model.validate();
    } catch (const ConfigError& e) {
        throw ConfigError(std::string(e.what()) + " (in " + source + ")", e.where());
    }
    return model;
}

} // namespace triseg::io
