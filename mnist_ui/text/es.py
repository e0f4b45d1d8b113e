"""Las palabras de la página en español (neutro, para estudiantes y docentes), con las mismas claves que en.py.

El vocabulario es el del cuaderno del curso, "Redes Neuronales Convolucionales": red neuronal, capa densa, época,
tamaño de lote, tasa de aprendizaje, conjunto de validación.
"""

from __future__ import annotations

WORDS: dict[str, str] = {
    # la página, alrededor de las pestañas
    "page.title": "Dibuja un dígito",
    "page.intro": (
        "# Dibuja un dígito\nDos redes neuronales leen lo que escribes: la red densa del cuaderno del curso “Redes "
        "Neuronales Convolucionales” y una red convolucional, ambas entrenadas con MNIST y con escritura real a mano."
    ),
    "page.language": "Idioma",
    "tab.draw": "Dibujar",
    "tab.teach": "Enséñale",
    "tab.upload": "Subir imagen",
    "tab.model": "Modelo",
    "tab.drawings": "Dibujos",
    "tab.train": "Entrenar",
    # los ajustes, como los nombra quien aprende, y qué hace cada uno
    "setting.epochs": "Épocas",
    "setting.epochs.what": "Cuántas veces la red recorre todas las imágenes de entrenamiento.",
    "setting.batch_size": "Tamaño de lote",
    "setting.batch_size.what": "Cuántas imágenes mira antes de cada pequeña corrección de sus pesos.",
    "setting.validation_split": "Proporción de validación",
    "setting.validation_split.what": (
        "La parte de las imágenes de entrenamiento que se aparta, sin aprender de ella, para revisar la red "
        "después de cada época: el conjunto de validación."
    ),
    "setting.architecture": "Red neuronal",
    "setting.architecture.what": "Qué red neuronal aprende.",
    "setting.architecture.dense": "densa: la red del cuaderno, cada píxel conectado a 2.048 neuronas, dos veces",
    "setting.architecture.cnn": "convolucional: pequeños filtros de 3×3 que recorren la imagen, y luego una capa densa",
    "setting.cnn_layers": "Capas convolucionales",
    "setting.cnn_layers.what": "Los filtros y las reducciones (pooling) de la red convolucional, en orden.",
    "setting.dropout": "Dropout",
    "setting.dropout.what": (
        "La parte de las neuronas que se apagan al azar en cada paso del entrenamiento, para que la red no "
        "memorice las imágenes de entrenamiento."
    ),
    "setting.learning_rate": "Tasa de aprendizaje",
    "setting.learning_rate.what": (
        "Qué tan grande es cada corrección de los pesos: si es muy grande da saltos, si es muy pequeña avanza lento."
    ),
    "setting.lr_schedule": "Cómo cambia la tasa de aprendizaje",
    "setting.lr_schedule.what": (
        "Si la tasa de aprendizaje se mantiene igual o sube y luego baja durante el entrenamiento."
    ),
    "setting.lr_schedule.one_cycle": "sube y luego baja (un ciclo)",
    "setting.lr_schedule.constant": "se mantiene igual",
    "setting.seed": "Semilla aleatoria",
    "setting.seed.what": "El número que fija cada elección al azar, para poder repetir un entrenamiento.",
    "setting.augment": "Copias deformadas de las imágenes",
    "setting.augment.what": (
        "En cada época muestra copias un poco giradas, estiradas, desplazadas y engrosadas, como dibujos en el panel."
    ),
    "setting.deskew": "Enderezar los dígitos inclinados",
    "setting.deskew.what": "Quita la inclinación de cada dígito antes de que la red lo lea, al entrenar y después.",
    "setting.train_subset": "Imágenes de entrenamiento usadas",
    "setting.train_subset.what": (
        "Solo las primeras imágenes del conjunto de entrenamiento de MNIST, para una prueba rápida."
    ),
    "setting.train_subset.all": "todas",
    "setting.bf16": "Aritmética rápida de media precisión",
    "setting.bf16.what": (
        "Multiplica con números de 16 bits donde el procesador lo hace en hardware; los pesos siguen en 32 bits."
    ),
    "setting.pens": "Escritura real con lápiz (UNIPEN)",
    "setting.pens.what": (
        "También aprende de dígitos escritos con lápiz por personas reales, dibujados como los dibuja el panel."
    ),
    "setting.loss": "Pérdida",
    "setting.loss.value": "entropía cruzada",
    "setting.loss.what": "Cuánto se equivoca la red en promedio (entropía cruzada): baja a medida que la red aprende.",
    "value.yes": "sí",
    "value.no": "no",
    # el panel de dibujo, el resultado, la línea de la otra red, la insignia del modelo, el modo presentación
    "pad.aria": "Panel de dibujo: dibuja un dígito con el mouse, un dedo o un lápiz",
    "pad.hint": "dibuja un dígito aquí",
    "pad.undo": "↶ Deshacer",
    "pad.undo_title": "Deshacer el último trazo (Ctrl+Z)",
    "pad.clear": "✕ Borrar",
    "pad.clear_title": "Borrar el panel (Esc)",
    "pad.no_answer": "el servidor no respondió; revisa tu conexión y vuelve a dibujar",
    "result.probs": "Probabilidad de cada dígito",
    "result.seen": "Lo que vio el modelo (28×28)",
    "result.not_digit": "No es un dígito",
    "result.sure": "{p} de seguridad",
    "result.maybe": "no está segura: quizás un {digit} ({p})",
    "result.said": "Leído como {digit}, {p} de seguridad. {all}.",
    "result.said_unsure": "Leído como {digit}, sin seguridad, {p}. {all}.",
    # lo que el servidor dice de una lectura (en inglés en la API), en el idioma de la página
    "msg.hint_draw": "dibuja un dígito",
    "msg.hint_upload": "sube una imagen de un dígito",
    "msg.hint_teach": "dibuja el dígito que se pide",
    "msg.blank": "no hay nada que leer: dibuja un dígito",
    "msg.blank_picture": (
        "no hay nada que leer en esta imagen: envía una imagen de un dígito, oscuro sobre claro o claro sobre oscuro"
    ),
    "msg.unsure": "sin seguridad",
    "msg.speckle": "manchas, no un dígito dibujado",
    "msg.line": "una línea",
    "msg.filled": "relleno",
    "msg.wide": "más ancho que un dígito",
    "msg.dot": "un punto",
    "msg.dots": "puntos",
    "msg.scribbled": "garabateado",
    "msg.several": "varios dígitos",
    "msg.busy": "el servidor está demasiado ocupado para leer tu dibujo ahora; vuelve a dibujar en un momento",
    "msg.too_many": "demasiados dibujos a la vez desde tu dirección; vuelve a dibujar en un momento",
    "msg.unreadable": "ese archivo no es una imagen legible; envía un PNG, JPEG, BMP, GIF o WebP",
    "msg.no_model": "no hay ningún modelo cargado",
    "network.dense": "La red densa (la del cuaderno)",
    "network.cnn": "La red convolucional",
    "network.reads": "lee {digit}, con {p} de seguridad.",
    "network.differ": "Aquí las dos redes no coinciden.",
    "badge.reads": "Tu modelo lee tus dibujos",
    "badge.which": "Qué modelo lee",
    "badge.yours": "Tu modelo",
    "badge.shared": "Modelo compartido",
    "badge.compare": "Comparar",
    "badge.by_yours": "Respondió tu modelo",
    "badge.by_shared": "Respondió el modelo compartido",
    "badge.both": "El modelo compartido lee {shared} ({sp}); el tuyo, {yours} ({yp}).",
    "present.enter": "Modo presentación",
    "present.leave": "Salir del modo presentación",
    # dentro de la red (pestaña Dibujar)
    "inside.summary": "Dentro de la red",
    "inside.empty": "Dibuja un dígito para ver dentro de la red.",
    "inside.path": "De tu dibujo a la red",
    "inside.drawing": "tu dibujo",
    "inside.box": "recortado a su caja",
    "inside.fit": "ajustado a 20×20",
    "inside.centred": "centrado en 28×28",
    "inside.deskewed": "sin inclinación",
    "inside.reads": "lo que lee la red",
    "inside.units": "La primera capa",
    "inside.on": "{on} de {total} neuronas se activan con este dibujo ({share}).",
    "inside.units_legend": (
        "Las {k} que más se activan, cada una dibujada como el peso que da a cada píxel: el naranja suma, el azul "
        "resta. El número dice con qué fuerza se activa."
    ),
    # the convolutional network's first layer (its inside view: branch inside-cnn)
    "inside.filters": "La primera convolución",
    "inside.convolution": (
        "Una convolución desliza un pequeño patrón de pesos por cada lugar del dibujo y puntúa qué tan bien "
        "coincide cada lugar con él: cada puntaje es una posición del filtro."
    ),
    "inside.filters_on": "{on} de {total} posiciones de filtro se activan con este dibujo ({share}).",
    "inside.filters_legend": (
        "Los {k} filtros que más se activan. El cuadro grande muestra dónde encontró cada uno su patrón en tu"
        " dibujo (naranja más oscuro, más fuerte); el pequeño es su patrón de 3×3: el naranja suma, el azul "
        "resta. El número es su puntaje más alto."
    ),
    "inside.why": "Por qué {answer} y no {runner}",
    "inside.why_legend": "Los píxeles naranjas empujaron hacia el {answer}; los azules, hacia el {runner}, el segundo.",
    "inside.probs": "Qué tan segura está",
    "inside.softmax": (
        "La red da a cada dígito un puntaje; softmax convierte los diez puntajes en probabilidades: partes de 100% "
        "que dicen qué tan segura está de cada dígito."
    ),
    "inside.shared": "Arriba respondió tu propio modelo; esta es la red compartida sobre la que se construye.",
    # frases de las líneas que el servidor escribe en inglés
    "said.kept_an": "guardado como {digit}",
    "said.kept_a": "guardado como {digit}",
    "said.changed_an": "cambiado a {digit}",
    "said.changed_a": "cambiado a {digit}",
    "said.learns": "el modelo compartido aprende de él cuando se le hace un ajuste fino",
    "said.collected_one": "(1 dibujo recogido)",
    "said.collected": "({count} dibujos recogidos)",
    "said.your_reads": "tu modelo ahora lee este {digit}",
    "said.shared_not_kept": "la colección compartida no lo guardó",
    "said.not_learnt": "tu modelo no lo aprendió",
    "said.no_longer": "este dibujo ya no se guarda",
    "said.forgot": "tu modelo lo olvidó",
    "said.undone": "deshecho",
    "said.nothing_undo": "nada que deshacer",
    "said.not_kept_drawing": "este dibujo no se guarda",
    "said.nothing_save": "nada que guardar: primero dibuja (o sube) un dígito",
    "said.not_saved": "no se guardó",
    "said.not_undone": "no se deshizo",
    "said.not_kept": "no se guardó: las correcciones están desactivadas en este servidor",
    "said.off": "este servidor no guarda los dibujos corregidos",
    "said.not_collect": "este servidor no recoge dibujos para el modelo compartido",
    "said.epoch": "época {epoch}/{epochs}, lote {batch}/{batches} ({share})",
    "said.left": "quedan unos {seconds} s",
    "said.saving": "evaluando con los conjuntos de prueba y guardando",
    "said.loading_drawings": "cargando los datos de entrenamiento de MNIST y los dibujos recogidos",
    "said.loading": "cargando los datos de entrenamiento de MNIST",
    "said.starting_build": "empezando (construyendo el modelo)",
    "said.building": "construyendo el modelo",
    "said.redrawing": "redibujando los dibujos recogidos",
    "said.cancelled_after": "cancelado después de las {epochs} épocas, antes de guardar",
    "said.not_changed": "el modelo en uso no cambió",
    "said.not_started": "no se inició",
    "said.epochs_range": "las épocas deben ser de 1 a {most}",
    "said.batch_range": "el tamaño de lote debe ser de {least} a {most}",
    "said.retrain_off": "el reentrenamiento está desactivado",
    "said.finetune_off": "el ajuste fino está desactivado",
    "said.pick": "primero elige una versión",
    "said.now_serving": "ahora está en uso: {label}",
    "said.not_switched": "no se cambió",
    "said.switch_off": "el cambio de modelo está desactivado",
    "said.version_acc": "· {acc} en la prueba de MNIST",
    "said.offline": (
        "no hay MNIST en esta máquina ni internet para descargarlo ({reason}): inicia con --data RUTA (una "
        "carpeta con los cuatro archivos IDX de MNIST, o un mnist.npz), o conecta esta máquina a internet una"
        " vez (11 MB, se guarda)"
    ),
    "said.no_mnist": (
        "no hay MNIST en esta máquina: apunta MNIST_DATA (o --data) a una carpeta con los cuatro archivos IDX"
        " de MNIST o un mnist.npz"
    ),
    "said.has_model": "Tienes un modelo propio que recuerda {count} de tus dibujos; la pestaña Dibujar lee con él.",
    "said.model_gone": "Tu modelo propio ya no está (olvidado, o quitado por no usarse); vuelve a enseñarle.",
    "said.model_unreadable": "Ahora no se puede leer tu modelo propio ({why}); responde el modelo compartido.",
    "said.forgotten": "olvidado: se borraron tus dibujos y tu modelo",
    "said.no_profile": "ese perfil no existía",
    "said.not_forgotten": "no se olvidó",
    "said.not_taught": "no se enseñó",
    "said.not_remembered": "no se recordó",
    "said.remembers_one": "{whose} recuerda 1 dibujo más ({total} en total), en {seconds} s",
    "said.remembers": "{whose} recuerda {count} dibujos más ({total} en total), en {seconds} s",
    "said.new_model": "un modelo nuevo propio",
    "said.your_model": "tu modelo",
    "said.reads_well_one": (
        "el modelo compartido ya te lee bien: leyó el dibujo apartado para comprobar, y el tuyo también"
    ),
    "said.reads_well": (
        "el modelo compartido ya te lee bien: leyó los {count} dibujos apartados para comprobar, y el tuyo también"
    ),
    "said.held_back": (
        "de {count} dibujos apartados para comprobar, el modelo compartido leyó {shared} y el tuyo lee {yours}"
    ),
    "said.held_back_one": (
        "de 1 dibujo apartado para comprobar, el modelo compartido leyó {shared} y el tuyo lee {yours}"
    ),
    "said.shared_of": "se compartieron {kept} de {count} dibujos con la colección",
    "said.cannot_keep": "los dibujos corregidos no se pueden guardar",
    "said.shipped_cnn": "modelo convolucional incluido",
    "said.shipped": "modelo incluido",
    # la pestaña Enséñale
    "teach.intro": (
        "**Enséñale tu letra.** Dibuja cada dígito como lo escribes; un modelo propio recuerda tu estilo al "
        "instante. No cambia nada de lo que ven los demás. Tus dibujos se quedan en tu perfil, salvo que los "
        "compartas."
    ),
    "teach.teaching": "Listo: enseñando a tu modelo…",
    "teach.of": "{n} de {total}",
    "teach.draw": "Dibuja un {digit}",
    "teach.draw_first": "Primero dibuja un {digit} en el panel (u omítelo).",
    "teach.check_drawn": "dibujado",
    "teach.check_shared": "leyó el modelo compartido",
    "teach.check_yours": "lee tu modelo",
    "teach.checks": "dibujos apartados para comprobar",
    "teach.none": "Primero dibuja al menos un dígito.",
    "teach.not_taught": "No se enseñó: {why}",
    "teach.done": "Listo: {what}. La pestaña Dibujar ya lee tus dibujos con él.",
    "teach.no_model": "Aquí no tienes un modelo propio.",
    "teach.next": "Siguiente ›",
    "teach.skip": "Omitir este",
    "teach.now": "Enseñar ahora",
    "teach.restart": "Empezar de nuevo",
    "teach.times": "Dibujos de cada dígito",
    "teach.share": "Compartir mis dibujos con la colección compartida",
    "teach.forget": "Olvídame",
    "teach.reading.yours": "Tu modelo",
    "teach.reading.shared": "El modelo compartido",
    "teach.reading.reads": "{whose} lee {digit} ({p})",
    "teach.reading.no_digit": "{whose} no ve ningún dígito ({doubt})",
    # la pestaña Dibujos
    "drawings.empty": (
        "**Todavía no hay dibujos.** Cuando el modelo lea mal un dígito en la pestaña **Dibujar** o **Subir "
        "imagen**, pulsa **¿Mal? Es un:** y el dígito correcto: el dibujo se guarda aquí con su etiqueta. O "
        "importa un zip abajo."
    ),
    "drawings.all_col": "todos",
    "drawings.in_file": "en `{path}`",
    "drawings.kept_here": "guardados en este servidor",
    "drawings.summary": (
        "{total} dibujos {where}; el modelo leyó mal {wrong} de ellos; {held} apartados (nunca se entrena con"
        " ellos) para medir los ajustes finos."
    ),
    "drawings.caption": "#{id}: {label} (leído {read})",
    "drawings.of_digit": "dígitos {digit}, ",
    "drawings.read_wrong": "leídos mal, ",
    "drawings.showing": "se muestran {count} dibujos ({what}los más nuevos primero)",
    "drawings.no_match": "ningún dibujo coincide",
    "drawings.intro": (
        "Dibujos que corrigieron los visitantes: la pestaña Modelo mide el modelo en uso con los apartados, y"
        " **Entrenar → Ajuste fino con los dibujos recogidos** aprende de los demás."
    ),
    "drawings.import_file": "Importar un zip hecho con Exportar",
    "drawings.import": "Importar",
    "drawings.all": "todos los dígitos",
    "drawings.wrong_only": "Solo los que el modelo leyó mal",
    "drawings.refresh": "Actualizar",
    "drawings.gallery_title": "#### Lo que el modelo vio de cada uno (✗ = el modelo lo leyó mal)",
    "drawings.gallery": "Dibujos recogidos: lo que vio el modelo (✗ = el modelo lo leyó mal)",
    "drawings.delete": "Borrar el dibujo elegido",
    "drawings.confirm": "sí, borrar todos los dibujos",
    "drawings.delete_all": "Borrar todos",
    "drawings.export_zip": "Exportar zip (PNG + labels.csv)",
    "drawings.export_idx": "Exportar archivos IDX de MNIST",
    "drawings.status": "lo que hizo la última acción",
    "drawings.exported": "Archivos exportados",
    "said.not_deleted": "no se borró",
    "said.pick_drawing": "primero elige un dibujo en la galería",
    "said.deleted_one": "se borró el dibujo #{id}",
    "said.already": "el dibujo #{id} ya estaba borrado",
    "said.deleted_all": "se borraron los {count} dibujos",
    "said.tick": "primero marca “sí, borrar todos los dibujos”",
    "said.private": (
        "en un servidor público solo un usuario con sesión iniciada puede ver o cambiar los dibujos recogidos"
    ),
    # la pestaña Subir imagen y la barra de corrección
    "upload.title": "**Una foto o un escaneo de un dígito**",
    "upload.label": "Una foto o un escaneo de un dígito",
    "upload.examples": "Ejemplos: haz clic en uno",
    "correct.hint": "Dibuja un dígito y luego dile si lo leyó bien.",
    "correct.right": "Correcto",
    "correct.wrong": "<b>¿Mal? Es un:</b>",
    "correct.undo": "Deshacer",
    "correct.own": "Tu propio modelo aprende cada uno al instante, solo para ti (pestaña Enséñale: olvídame).",
    "correct.not_kept": "este servidor no guarda los dibujos corregidos",
    "correct.place": "en este servidor",
    "correct.place_file": "en este servidor en `{path}`",
    "correct.where": (
        "Correcto o un dígito guarda el dibujo, lo que leyó el modelo y tu etiqueta {place} (pestaña Dibujos:"
        " ver, exportar, borrar)."
    ),
    # la pestaña Modelo
    "model.serving": "### En uso: {label}",
    "model.file": "Archivo: {where}",
    "model.no_record": "No se encontró junto a su archivo ningún registro de cómo se entrenó este modelo.",
    "model.trained": "Entrenado el {when}",
    "model.trained_in": " en {seconds} s",
    "model.trained_on": " con {images} imágenes",
    "model.mnist_accuracy": "Precisión en las imágenes de prueba de MNIST: **{accuracy}**",
    "model.pen_accuracy": ("Escritura real, {count} dígitos de personas de UNIPEN que nunca vio: **{accuracy}**"),
    "model.settings_title": "#### Cómo se entrenó",
    "model.settings_head": "ajuste|valor|qué hace",
    "model.command": "Comando: `{command}`",
    "model.no_model": "no hay ningún modelo cargado",
    "model.architecture": "### Capas\nComo las muestra `model.summary()` en el cuaderno.",
    "model.layers_head": "Layer (type)|Output Shape|Param #|qué hace",
    "model.layer.input": "los 28×28 píxeles, en una fila de 784 números",
    "model.layer.dense": "cada neurona pondera todas las entradas y se activa si la suma es positiva (ReLU)",
    "model.layer.dropout": "apaga al azar la mitad de las neuronas al entrenar; después no hace nada",
    "model.layer.output": "diez puntajes convertidos en diez probabilidades (softmax), una por dígito",
    "model.layer.conv": "recorre la imagen con pequeños filtros de 3×3, cada uno encuentra un borde o una curva",
    "model.layer.pool": "se queda con el valor más fuerte de cada cuadro de 2×2 y reduce la imagen a la mitad",
    "model.total": "**Total**",
    "model.networks": "### Las dos redes",
    "model.net.serving": "en uso: {label}",
    "model.net.beside": "a su lado: {label}",
    "model.net.network": "red",
    "model.net.layers": "capas",
    "model.net.parameters": "parámetros (pesos)",
    "model.net.mnist": "precisión en la prueba de MNIST",
    "model.net.pens": "personas reales que nunca vio",
    "model.net.pool": "pooling",
    "model.net.conv": "conv",
    "model.net.dense": "densa",
    "model.report_unavailable": "El informe del conjunto de prueba no está disponible: {reason}",
    "model.mnist_title": "Precisión en la prueba de MNIST",
    "model.mnist_what": "imágenes de prueba de MNIST",
    "model.pen_title": "Escritura real (personas de UNIPEN que nunca vio)",
    "model.pen_what": "dígitos escritos con lápiz, dibujados como los dibuja el panel",
    "model.no_pens": (
        "Este modelo no tiene informe de escritura real (entrénalo con datos de lápiz para obtener uno)."
    ),
    "model.section": (
        "### {title}: {accuracy}\n\n{count} {what}; pérdida {loss} (cuánto se equivoca en promedio: menos es "
        "mejor). Matriz de confusión: las filas son el dígito verdadero, las columnas lo que leyó el modelo."
    ),
    "model.accuracy": "precisión",
    "model.digit": "dígito",
    "model.drawings_count": "dibujos",
    "model.matrix_mnist": "Matriz de confusión, prueba de MNIST",
    "model.matrix_pens": "Matriz de confusión, escritura real",
    "model.matrix_predicted": "dígito leído",
    "model.matrix_true": "real",
    "model.mistakes": (
        "### Los errores más seguros en el conjunto de prueba de MNIST\n\nCada uno dice el dígito verdadero y "
        "luego lo que leyó el modelo."
    ),
    "model.mistakes_label": "Los errores más seguros en el conjunto de prueba de MNIST",
    "model.read_as": "{label} leído como {predicted}",
    "model.collected": "### Dibujos recogidos\n\n⚠️ {warning}",
    "model.collected_none": (
        "### Dibujos recogidos\n\nTodavía no hay dibujos recogidos apartados: uno de cada cinco dibujos corregidos "
        "se aparta (nunca se entrena con él) para medir el modelo; corrige algunas lecturas en la pestaña Dibujar."
    ),
    "model.collected_title": "### Dibujos recogidos apartados: {accuracy}{beside}",
    "model.collected_beside": " (prueba de MNIST: {accuracy})",
    "model.collected_rests": (
        "Se basa en {count} dibujos que corrigieron personas y de los que ningún ajuste fino aprende."
    ),
    # la pestaña Entrenar
    "train.preset": "Receta",
    "train.preset.what": "Una receta lista; completa los ajustes de abajo.",
    "train.preset.default": "default: la receta del modelo incluido, {what}",
    "train.preset.seed": "seed: exactamente el cuaderno, {what}",
    "train.preset.cnn": "cnn: la red convolucional, {what}",
    "train.preset.fast": "fast: una prueba de un minuto, {what}",
    "train.describe": "{epochs} épocas con {images} imágenes de MNIST",
    "train.describe_one": "1 época con {images} imágenes de MNIST",
    "train.describe_pens": ", más escritura real con lápiz",
    "train.serve": "Usar el nuevo modelo al terminar (si no lee peor)",
    "train.include": "Incluir los dibujos recogidos ({train} para entrenar; {held} apartados para medir)",
    "train.include_none": (
        "Incluir los dibujos recogidos (todavía ninguno: pulsa “¿Mal? Es un:” bajo una lectura para recoger uno)"
    ),
    "train.include_off": "Incluir los dibujos recogidos (este servidor no los guarda)",
    "train.retrain": "Reentrenar",
    "train.cancel": "Cancelar",
    "train.watch": "Seguir el entrenamiento en curso",
    "train.finetune_epochs": "Épocas del ajuste fino",
    "train.finetune": "Ajuste fino con los dibujos recogidos",
    "train.finetune_none": "Ajuste fino con los dibujos recogidos (todavía ninguno)",
    "train.versions": "Versiones guardadas",
    "train.serving_mark": "{label}  ← en uso",
    "train.switch": "Usar esta versión",
    "train.idle": "Todavía no hay entrenamientos. Elige los ajustes y pulsa <b>Reentrenar</b>.",
    "train.state.loading": "Preparando",
    "train.state.training": "Entrenando",
    "train.state.saving": "Guardando",
    "train.state.completed": "Listo",
    "train.state.cancelled": "Cancelado",
    "train.state.failed": "Falló",
    "train.state.finetune": "Ajuste fino en curso",
    "train.job": "entrenamiento n.º {job}",
    "train.job_finetune": "ajuste fino n.º {job}",
    "train.elapsed": "tiempo transcurrido: {seconds} s",
    "train.loss_plot": "Pérdida: azul = entrenamiento (promedio de la época hasta ahora), naranja = validación",
    "train.accuracy_plot": "Precisión: azul = entrenamiento, naranja = validación",
    "train.curve.train": "entrenamiento",
    "train.curve.validation": "validación",
    "train.curve.epoch": "época",
    "train.curve.loss": "pérdida",
    "train.curve.accuracy": "precisión",
    "train.disabled": "El reentrenamiento está desactivado: {reason}",
    "train.no_data": "No hay datos de entrenamiento: {problem}",
    "train.old_new": "### Antes y ahora",
    "train.old": "anterior: {label}",
    "train.new": "nuevo: {label}",
    "train.accuracy": "precisión",
    "train.mnist_test": "prueba de MNIST",
    "train.real_handwriting": "escritura real",
    "train.now_serving": "El nuevo modelo ya está en uso.",
    "train.still_old": "Sigue en uso el modelo anterior; elige la nueva versión abajo para cambiar.",
    "train.before_after": "### Antes y después del ajuste fino",
    "train.held_collected": "dibujos recogidos apartados ({count})",
    "train.model": "modelo",
    "train.before": "antes: {label}",
    "train.after": "después: {label}",
    "train.tuned_serving": (
        "El modelo con ajuste fino ya está en uso: lee los dibujos apartados igual o mejor y la prueba de MNIST "
        "dentro de la caída permitida."
    ),
    "train.not_served": "No se usa: {reason}. Queda guardado como una versión abajo.",
    "train.learnt_from": "Aprendió de {count} dibujos recogidos. {verdict}",
    "train.split": (
        "Una proporción de validación de {split} aparta {check} de las {total} imágenes de entrenamiento solo para "
        "revisar la red, así que {learn} imágenes le enseñan."
    ),
    "train.lesson": (
        "### La lección del cuaderno\n"
        "| entrenada con | precisión en la prueba de MNIST |\n|---|---:|\n"
        "| esta vez: {learn} imágenes | **{this}** |\n"
        "| la receta por defecto (el modelo incluido) | {default} |\n"
        "| la ejecución del propio cuaderno | {notebook} |\n\n"
        "La misma red lee mucho mejor cuando todas las imágenes le enseñan."
    ),
}
